// Writes the torch worker's params dataclasses from the node schemas:
//   npx tsx scripts/gen-python-params.ts
import { writeFileAtomicSync } from '@tunekit/core'
import { fileURLToPath } from 'node:url'
import { PARAMS_PY, pythonParamsSource } from './python-params.ts'

const target = fileURLToPath(new URL(`../${PARAMS_PY}`, import.meta.url))
writeFileAtomicSync(target, pythonParamsSource())
console.log(`wrote ${PARAMS_PY}`)
