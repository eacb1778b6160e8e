import { z } from 'zod'

/**
 * The `distributed` group: train on several processes (GPUs, or CPU processes with gloo) under
 * torchrun, the torch backend only. The batch plan's micro-batches of each optimiser step are
 * dealt to the processes, so the global batch and every loss stay the one-process run's; the group
 * is not part of the train node's key, so a run resumes with another number of processes.
 */
export const distributedSchema = z.strictObject({
  /**
   * How the processes are started: `'torchrun'` (`python -m torch.distributed.run`, PyTorch's own
   * launcher: it starts the processes, sets their ranks and restarts nothing on its own).
   * No memory or quality effect.
   * @defaultValue 'torchrun'
   * @see https://pytorch.org/docs/stable/elastic/run.html
   */
  launcher: z.literal('torchrun').default('torchrun'),
  /**
   * Processes on this machine, one per GPU (torchrun's `--nproc-per-node`). Each holds a copy of the
   * model under DDP (a shard of it under FSDP) and computes its share of the step's micro-batches;
   * nprocPerNode × nnodes must divide `args.gradientAccumulationSteps`.
   * @defaultValue 1
   * @see https://pytorch.org/docs/stable/elastic/run.html (--nproc-per-node)
   */
  nprocPerNode: z.number().int().positive().default(1),
  /**
   * Machines taking part (torchrun's `--nnodes`); every machine runs the same recipe with its own
   * `nodeRank`. No memory effect per process.
   * @defaultValue 1
   * @see https://pytorch.org/docs/stable/elastic/run.html (--nnodes)
   */
  nnodes: z.number().int().positive().default(1),
  /**
   * This machine's index among the nnodes, 0 to nnodes − 1 (torchrun's `--node-rank`); machine 0
   * writes the events, checkpoints and artifacts. Usually given per machine with `--node-rank`.
   * No memory or quality effect.
   * @defaultValue 0
   * @see https://pytorch.org/docs/stable/elastic/run.html (--node-rank)
   */
  nodeRank: z.number().int().nonnegative().default(0),
  /**
   * Address of machine 0, which every machine reaches (torchrun's `--master-addr`).
   * No memory or quality effect.
   * @defaultValue '127.0.0.1'
   * @see https://pytorch.org/docs/stable/elastic/run.html (--master-addr)
   */
  masterAddr: z.string().min(1).default('127.0.0.1'),
  /**
   * Free TCP port on machine 0 for the processes' rendezvous (torchrun's `--master-port`).
   * No memory or quality effect.
   * @defaultValue 29500
   * @see https://pytorch.org/docs/stable/elastic/run.html (--master-port)
   */
  masterPort: z.number().int().min(1).max(65535).default(29500),
  /**
   * `'ddp'`: every process holds the whole model and the gradients are summed (DistributedDataParallel);
   * `'fsdp'`: parameters, gradients and optimizer states are sharded over the processes (FSDP2's
   * `fully_shard`, each decoder layer a unit), so each holds about 1/N of them, at the cost of
   * gathering each layer's weights in every forward and backward. The losses are the same.
   * @defaultValue 'ddp'
   * @see https://pytorch.org/docs/stable/notes/ddp.html and https://pytorch.org/docs/stable/distributed.fsdp.fully_shard.html
   */
  strategy: z.enum(['ddp', 'fsdp']).default('ddp'),
})

export type DistributedOptions = z.output<typeof distributedSchema>

/** Processes in all: nprocPerNode × nnodes. */
export const worldSize = (d: Pick<DistributedOptions, 'nprocPerNode' | 'nnodes'>): number => d.nprocPerNode * d.nnodes
