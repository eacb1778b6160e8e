import type { StageKind } from '../schema/stage.ts'
import { dpoStage } from './dpo.ts'
import { grpoStage } from './grpo.ts'
import { orpoStage } from './orpo.ts'
import { ppoStage } from './ppo.ts'
import { ktoStage } from './kto.ts'
import { pretrainStage } from './pretrain.ts'
import { qaStage } from './qa.ts'
import { rmStage } from './rm.ts'
import { sftStage } from './sft.ts'
import { simpoStage } from './simpo.ts'
import type { StageDefinition } from './stage.ts'

/** Every training stage, keyed by `stage.kind`: one file each in this folder. */
export const stages = {
  sft: sftStage,
  pretrain: pretrainStage,
  dpo: dpoStage,
  orpo: orpoStage,
  simpo: simpoStage,
  rm: rmStage,
  qa: qaStage,
  kto: ktoStage,
  grpo: grpoStage,
  ppo: ppoStage,
} satisfies { [K in StageKind]: StageDefinition<K> }
