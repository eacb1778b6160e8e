// The launch of a worker under torchrun (`python -m torch.distributed.run`), PyTorch's own launcher:
// it starts nprocPerNode processes on this machine, gives each its RANK / WORLD_SIZE / LOCAL_RANK and
// meets the other machines at masterAddr:masterPort. No scheduler of tunekit's own.
import type { DistributedOptions, NodeContext } from '@tunekit/core'

/** The recipe's distributed group when this node trains under torchrun (the sft / pretrain train node). */
export function distributedOf(ctx: NodeContext): DistributedOptions | undefined {
  const d = ctx.recipe.distributed
  return d !== undefined && ctx.node.kind === 'train' ? d : undefined
}

/** The Python arguments that run `tunekit_torch run <spec>` under torchrun (one process of its own per rank). */
export function torchrunArgs(specPath: string, d: DistributedOptions): string[] {
  const run = ['-m', 'tunekit_torch', 'run', specPath]
  return [
    '-m', 'torch.distributed.run',
    '--nproc-per-node', String(d.nprocPerNode),
    '--nnodes', String(d.nnodes),
    '--node-rank', String(d.nodeRank),
    '--master-addr', d.masterAddr,
    '--master-port', String(d.masterPort),
    ...run,
  ]
}
