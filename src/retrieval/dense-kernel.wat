;; Float32 dot products of every row of a row-major matrix with m query vectors, with 128-bit
;; SIMD: out[i * rows + r] = row r . query i, as f32 (query-major: one query's products are
;; contiguous, which is how SpanSim reads them). The rows are read from memory once; each row
;; stays in L1 while its m dot products are taken, one query at a time with four f32x4
;; accumulators over 16 floats (measured faster than four queries per load of the row). Compiled by
;; scripts/build-wasm.mjs into dense-kernel.wasm.ts; src/retrieval/dense-kernel.ts drives it.
;; Offsets are in bytes; dim must be a multiple of 4.
(module
  (import "env" "memory" (memory 1))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  (func (export "dots")
    (param $data i32) (param $rows i32) (param $dim i32) (param $q i32) (param $m i32) (param $out i32)
    (local $r i32) (local $row i32) (local $rowEnd i32) (local $rowBytes i32)
    (local $i i32) (local $qi i32)
    (local $p i32) (local $t i32) (local $o i32) (local $stride i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $rowBytes (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $row (local.get $data))
    (local.set $stride (i32.shl (local.get $rows) (i32.const 2)))
    (block $done
      (loop $rowsLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $rowEnd (i32.add (local.get $row) (local.get $rowBytes)))
        (local.set $i (i32.const 0))
        (local.set $qi (local.get $q))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2))))
        ;; one query at a time (the row stays in L1): four accumulators over 16 floats, then a tail of 4
        (block $oneDone
          (loop $one
            (br_if $oneDone (i32.ge_u (local.get $i) (local.get $m)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $p (local.get $row))
            (local.set $t (local.get $qi))
            (block $wide
              (loop $wideLoop
                (br_if $wide (i32.gt_u (i32.add (local.get $p) (i32.const 64)) (local.get $rowEnd)))
                (local.set $a0 (f32x4.add (local.get $a0)
                  (f32x4.mul (v128.load (local.get $p)) (v128.load (local.get $t)))))
                (local.set $a1 (f32x4.add (local.get $a1)
                  (f32x4.mul (v128.load offset=16 (local.get $p)) (v128.load offset=16 (local.get $t)))))
                (local.set $a2 (f32x4.add (local.get $a2)
                  (f32x4.mul (v128.load offset=32 (local.get $p)) (v128.load offset=32 (local.get $t)))))
                (local.set $a3 (f32x4.add (local.get $a3)
                  (f32x4.mul (v128.load offset=48 (local.get $p)) (v128.load offset=48 (local.get $t)))))
                (local.set $p (i32.add (local.get $p) (i32.const 64)))
                (local.set $t (i32.add (local.get $t) (i32.const 64)))
                (br $wideLoop)))
            (block $tail
              (loop $tailLoop
                (br_if $tail (i32.ge_u (local.get $p) (local.get $rowEnd)))
                (local.set $a0 (f32x4.add (local.get $a0)
                  (f32x4.mul (v128.load (local.get $p)) (v128.load (local.get $t)))))
                (local.set $p (i32.add (local.get $p) (i32.const 16)))
                (local.set $t (i32.add (local.get $t) (i32.const 16)))
                (br $tailLoop)))
            (f32.store (local.get $o)
              (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
                                     (f32x4.add (local.get $a2) (local.get $a3)))))
            (local.set $o (i32.add (local.get $o) (local.get $stride)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $qi (i32.add (local.get $qi) (local.get $rowBytes)))
            (br $one)))
        (local.set $row (local.get $rowEnd))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowsLoop)))))
