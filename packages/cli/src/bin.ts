import { runCli } from './program.ts'

// The `tunekit` executable (bin/tunekit.js loads this file). Exit through process.exitCode so
// that buffered output to a pipe is flushed before the process ends.
process.exitCode = await runCli(process.argv.slice(2))
