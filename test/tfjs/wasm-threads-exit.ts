// Run by kernels.test.ts in a child process with TUNEKIT_WASM_THREADS=2: starts the threaded wasm
// build, runs a product on its pool and returns from the script without process.exit(), so the
// process ends only if the pool's workers do not hold it open.
import { selectEngine, tf } from '../../packages/tfjs/src/engine.ts'

const engine = await selectEngine('wasm')
const product = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync()[0]
console.log(JSON.stringify({ reason: engine.reason, product }))
