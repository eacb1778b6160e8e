import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

// Whether this machine shows an NVIDIA driver, from the file system alone (no Python, no CUDA
// library loaded): `plan` without --probe decides torch's 'auto' device with it. Without the
// driver CUDA cannot be there, so torch would run on the CPU; with it, CUDA is likely but not
// certain (a CPU-only torch wheel), which only `plan --probe` can tell.

/** What the check looked at, for the plan's backend line. */
export const NVIDIA_DRIVER_SIGNS = 'no /proc/driver/nvidia/version and no nvidia-smi on PATH'

/** True when /proc/driver/nvidia/version exists or an `nvidia-smi` is on PATH. */
export function nvidiaDriverPresent(env: Record<string, string | undefined> = process.env, exists: (path: string) => boolean = existsSync): boolean {
  if (exists('/proc/driver/nvidia/version')) return true
  return (env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && exists(join(dir, 'nvidia-smi')))
}
