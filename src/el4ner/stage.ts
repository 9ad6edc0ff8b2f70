/**
 * A stage of the EL4NER pipeline: it reads what earlier stages left in the chunk state, makes its
 * model calls and adds its part. The orchestrator (pipeline.ts) runs a list of stages per chunk.
 */
import type { RunLogs } from './calls.js';
import type { ChunkState, El4nerParts, StagePlan } from './state.js';

export interface Stage {
  readonly name: string;
  /** Model calls the stage makes for one chunk (re-asks not counted): tune's budget estimate sums these. */
  calls(plan: StagePlan): number;
  run(state: ChunkState, parts: El4nerParts, logs: RunLogs): Promise<void>;
}
