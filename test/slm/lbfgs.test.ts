import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lbfgs } from '../../src/slm/lbfgs.js';

test('L-BFGS minimises an ill-conditioned quadratic', async () => {
  const n = 50;
  const diag = Float64Array.from({ length: n }, (_, i) => 1 + i * 20);
  const target = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
  const f = (x: Float64Array, g: Float64Array) => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = x[i] - target[i];
      v += 0.5 * diag[i] * d * d;
      g[i] = diag[i] * d;
    }
    return v;
  };
  const r = await lbfgs(f, new Float64Array(n), { maxIterations: 500, epsilon: 1e-10, delta: 0 });
  assert.equal(r.reason, 'converged');
  for (let i = 0; i < n; i++) assert.ok(Math.abs(r.x[i] - target[i]) < 1e-6, `x[${i}] = ${r.x[i]}`);
});

test('L-BFGS finds the Rosenbrock minimum', async () => {
  const f = (x: Float64Array, g: Float64Array) => {
    const [a, b] = [x[0], x[1]];
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
  };
  const r = await lbfgs(f, Float64Array.from([-1.2, 1]), { maxIterations: 1000, epsilon: 1e-10, delta: 0 });
  assert.ok(
    Math.abs(r.x[0] - 1) < 1e-5 && Math.abs(r.x[1] - 1) < 1e-5,
    `ended at ${r.x[0]}, ${r.x[1]} (${r.reason})`,
  );
  assert.ok(r.value < 1e-10);
});

test('L-BFGS stops when the callback returns false', async () => {
  const f = (x: Float64Array, g: Float64Array) => {
    g[0] = 2 * (x[0] - 3);
    return (x[0] - 3) ** 2 + 1;
  };
  let calls = 0;
  const r = await lbfgs(f, new Float64Array(1), {
    onIteration: () => {
      calls++;
      return false;
    },
  });
  assert.equal(r.reason, 'stopped');
  assert.equal(calls, 1);
  assert.equal(r.iterations, 1);
});
