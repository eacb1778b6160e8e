// @tunekit/torch: the PyTorch backend. A TypeScript driver that starts a Python worker
// (`tunekit_torch`, shipped in python/) per node and reads its JSON-line events.
export { createTorchBackend } from './backend.ts'
export type { TorchBackendOptions } from './backend.ts'
export { setupTorch, checkTorchEnvironment } from './setup.ts'
export type { SetupOptions, EnvironmentCheck } from './setup.ts'
export { probeTorch, torchAutoChoice, readLock, versionMismatches, installCommand, clearProbeCache } from './probe.ts'
export type { TorchProbe, TorchDevice } from './probe.ts'
export { findPython, projectVenvPython, managedVenvDir, PYTHON_PACKAGE_DIR, LOCK_FILE, CUDA_LOCK_FILE } from './python.ts'
export type { PythonChoice } from './python.ts'
export { nodeSpec, runWorkerNode, EXIT_INTERRUPTED, EXIT_UNAVAILABLE } from './worker.ts'
export type { NodeSpec } from './worker.ts'
export { writeInitialAdapter, writeSeededAdapter } from './initial-adapter.ts'
