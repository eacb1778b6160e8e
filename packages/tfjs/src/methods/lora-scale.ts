// One definition of LoRA's scale, @tunekit/hf's (PiSSA's start values need it there too).
export { loraScale } from '@tunekit/hf'
