/**
 * Built-in chat templates, written as Jinja so the same text goes into tokenizer_config.json and
 * transformers' `apply_chat_template` renders exactly what tunekit trained on. Each receives
 * `messages` (Hugging Face's shape, hf-context.ts), `tools` when the conversation has some,
 * `add_generation_prompt`, `bos_token` and `eos_token`.
 */
import { CHATML_TOKENS, type BuiltinTemplateName } from '@tunekit/core'
export type BuiltinTemplate = BuiltinTemplateName

/**
 * What ChatML's system turn says around the tool list (the Hermes / Qwen2.5 layout, in our words):
 * the tools go between `<tools>` and `</tools>`, one JSON object a line, then how to call one.
 */
export const chatmlToolsIntro = '# Tools\n\nYou can call functions to help answer the user.\n\nTheir signatures are inside <tools></tools> XML tags, one JSON object per line:\n<tools>'
export const chatmlToolsOutro =
  '\n</tools>\n\nTo call a function, write a JSON object with its name and arguments inside <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'

/** What Llama 3's first user turn says before the tool definitions (the Llama 3.1 layout, in our words). */
export const llamaToolsIntro =
  'Answer with a JSON function call when one of the functions below helps with the request. Write it as {"name": function name, "parameters": object of argument names and values}, with values written out.\n\n'

/** A Jinja string literal of `text` (JSON's escapes are Jinja's). */
const literal = (text: string): string => JSON.stringify(text)

// Tools: the system turn (its text, a blank line, the tool list); an assistant turn writes its text
// and then each call as <tool_call>\n{"name": …, "arguments": …}\n</tool_call>; consecutive tool
// results share one user turn, each in <tool_response>\n…\n</tool_response>.
const chatml =
  '{% if tools %}' +
  "{{ '<|im_start|>system\\n' }}{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\\n\\n' }}{% endif %}" +
  `{{ ${literal(chatmlToolsIntro)} }}{% for tool in tools %}{{ '\\n' }}{{ tool | tojson }}{% endfor %}{{ ${literal(chatmlToolsOutro + '<|im_end|>\n')} }}` +
  '{% endif %}' +
  '{% for message in messages %}' +
  "{% if message['role'] == 'system' and loop.first and tools %}" +
  "{% elif message['role'] == 'tool' %}" +
  "{% if loop.first or messages[loop.index0 - 1]['role'] != 'tool' %}{{ '<|im_start|>user' }}{% endif %}" +
  "{{ '\\n<tool_response>\\n' + message['content'] + '\\n</tool_response>' }}" +
  "{% if loop.last or messages[loop.index0 + 1]['role'] != 'tool' %}{{ '<|im_end|>\\n' }}{% endif %}" +
  "{% elif message['role'] == 'assistant' and message['tool_calls'] %}" +
  "{{ '<|im_start|>assistant\\n' }}{% if message['content'] %}{{ message['content'] }}{% endif %}" +
  "{% for call in message['tool_calls'] %}{% if message['content'] or not loop.first %}{{ '\\n' }}{% endif %}" +
  "{% set fn = call['function'] if call['function'] is defined else call %}" +
  '{{ \'<tool_call>\\n{"name": "\' + fn[\'name\'] + \'", "arguments": \' }}' +
  "{% if fn['arguments'] is string %}{{ fn['arguments'] }}{% else %}{{ fn['arguments'] | tojson }}{% endif %}" +
  "{{ '}\\n</tool_call>' }}{% endfor %}{{ '<|im_end|>\\n' }}" +
  "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endif %}" +
  '{% endfor %}' +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

export const builtinTemplates: Record<BuiltinTemplate, string> = {
  // <|im_start|>role\ncontent<|im_end|>\n — the assistant turn ends with <|im_end|>
  chatml,

  // <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer </s>
  'llama-2':
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}" +
    '{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}' +
    '{% for message in loop_messages %}' +
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('llama-2 needs user and assistant turns that alternate, starting with user') }}{% endif %}" +
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}" +
    "{% else %}{% set content = message['content'] %}{% endif %}" +
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content | trim + ' [/INST]' }}" +
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content | trim + ' ' + eos_token }}{% endif %}" +
    '{% endfor %}',

  // <s>[INST] user [/INST]answer</s>[INST] … ; a system message is put before the first user text.
  // Tools as Mistral v3 writes them: [AVAILABLE_TOOLS] [{"type": "function", …}][/AVAILABLE_TOOLS]
  // before the first user turn (v3 puts them before the last one, which would change the text of
  // earlier turns as a conversation grows), calls as [TOOL_CALLS] [{"name", "arguments", "id"?}]</s>,
  // results as [TOOL_RESULTS] {"content": …, "call_id"?}[/TOOL_RESULTS]; tool turns are not counted
  // in the user/assistant alternation.
  'mistral-instruct':
    '{{ bos_token }}' +
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] + '\\n\\n' %}" +
    "{% else %}{% set loop_messages = messages %}{% set system_message = '' %}{% endif %}" +
    '{% set ns = namespace(turn=0) %}' +
    '{% for message in loop_messages %}' +
    "{% if message['role'] != 'tool' and not (message['role'] == 'assistant' and message['tool_calls']) %}" +
    "{% if (message['role'] == 'user') != (ns.turn % 2 == 0) %}{{ raise_exception('mistral-instruct needs user and assistant turns that alternate, starting with user') }}{% endif %}" +
    '{% set ns.turn = ns.turn + 1 %}{% endif %}' +
    "{% if message['role'] == 'user' %}{% if loop.index0 == 0 and tools %}{{ '[AVAILABLE_TOOLS] ' }}{{ tools | tojson }}{{ '[/AVAILABLE_TOOLS]' }}{% endif %}" +
    "{% if loop.index0 == 0 %}{{ '[INST] ' + system_message + message['content'] + ' [/INST]' }}{% else %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}" +
    "{% elif message['role'] == 'assistant' and message['tool_calls'] %}" +
    "{% if message['content'] %}{{ raise_exception('mistral-instruct writes an assistant turn with tool calls without text') }}{% endif %}" +
    "{{ '[TOOL_CALLS] [' }}{% for call in message['tool_calls'] %}{% set fn = call['function'] if call['function'] is defined else call %}" +
    '{{ \'{"name": "\' + fn[\'name\'] + \'", "arguments": \' }}' +
    "{% if fn['arguments'] is string %}{{ fn['arguments'] }}{% else %}{{ fn['arguments'] | tojson }}{% endif %}" +
    "{% if call['id'] is defined %}{{ ', \"id\": \"' + call['id'] + '\"' }}{% endif %}{{ '}' }}{% if not loop.last %}{{ ', ' }}{% endif %}{% endfor %}{{ ']' + eos_token }}" +
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}" +
    "{% elif message['role'] == 'tool' %}{{ '[TOOL_RESULTS] {\"content\": ' + message['content'] }}" +
    "{% if message['tool_call_id'] is defined %}{{ ', \"call_id\": \"' + message['tool_call_id'] + '\"' }}{% endif %}{{ '}[/TOOL_RESULTS]' }}{% endif %}" +
    '{% endfor %}',

  // <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>; tool results use the ipython role.
  // Tools as Llama 3.1 writes JSON tool calls (without "Environment: ipython", which is for its
  // built-in tools): the definitions, 4-space-indented JSON, open the first user turn; a call is the
  // whole assistant turn, {"name": …, "parameters": {…}}, one per turn.
  'llama-3':
    '{{ bos_token }}{% for message in messages %}' +
    "{% if message['role'] == 'tool' %}{% set role = 'ipython' %}{% else %}{% set role = message['role'] %}{% endif %}" +
    "{% if message['role'] == 'assistant' and message['tool_calls'] %}" +
    "{% if message['tool_calls'] | length != 1 or message['content'] %}{{ raise_exception('llama-3 writes one tool call per assistant turn, without text') }}{% endif %}" +
    "{% set call = message['tool_calls'][0] %}{% set fn = call['function'] if call['function'] is defined else call %}" +
    '{{ \'<|start_header_id|>assistant<|end_header_id|>\\n\\n{"name": "\' + fn[\'name\'] + \'", "parameters": \' }}' +
    "{% if fn['arguments'] is string %}{{ fn['arguments'] }}{% else %}{{ fn['arguments'] | tojson }}{% endif %}{{ '}<|eot_id|>' }}" +
    "{% elif tools and message['role'] == 'user' and (loop.index0 == 0 or (loop.index0 == 1 and messages[0]['role'] == 'system')) %}" +
    `{{ '<|start_header_id|>user<|end_header_id|>\\n\\n' }}{{ ${literal(llamaToolsIntro)} }}` +
    "{% for tool in tools %}{{ tool | tojson(indent=4) }}{{ '\\n\\n' }}{% endfor %}{{ message['content'] | trim + '<|eot_id|>' }}" +
    "{% else %}{{ '<|start_header_id|>' + role + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",

  // <bos><start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n…<end_of_turn>\n; system goes before the first user text
  gemma:
    '{{ bos_token }}' +
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] + '\\n\\n' %}" +
    "{% else %}{% set loop_messages = messages %}{% set system_message = '' %}{% endif %}" +
    '{% for message in loop_messages %}' +
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}" +
    "{% if loop.index0 == 0 %}{% set content = system_message + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}" +
    "{{ '<start_of_turn>' + role + '\\n' + content | trim + '<end_of_turn>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",

  // <|user|>\n…<|end|>\n<|assistant|>\n…<|end|>\n — Phi-3-mini-4k-instruct's template without the eos it
  // appends after the last turn when not generating (the assistant turn ends with <|end|>)
  'phi-3':
    '{% for message in messages %}' +
    "{% if message['role'] == 'system' or message['role'] == 'user' or message['role'] == 'assistant' %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}" +
    "{% else %}{{ raise_exception('phi-3 has no ' + message['role'] + ' role') }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",

  // LLaVA-1.5's conversation (llava-hf/llava-1.5-7b-hf's chat_template.json): `system USER: <image>\nquestion
  // ASSISTANT: answer</s>USER: …`, the generation prompt `ASSISTANT:`. Contents are strings here (the
  // `<image>` placeholder where the record puts it; llava-hf's template takes typed parts, images first).
  // The answer ends with eos as LLaVA-1.5 trained (conv_vicuna_v1's `</s>`) where llava-hf's template
  // writes a space, so the turn end is a label (test/data/templates.test.ts renders both).
  llava:
    '{% for message in messages %}' +
    "{% if message['role'] == 'system' %}{{ message['content'] + ' ' }}" +
    "{% elif message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}" +
    "{% elif message['role'] == 'assistant' %}{{ 'ASSISTANT: ' + message['content'] + eos_token }}" +
    "{% else %}{{ raise_exception('llava has no ' + message['role'] + ' role') }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}",

  // system\n\n### Instruction:\n…\n\n### Response:\n…</s>\n\n
  alpaca:
    '{% for message in messages %}' +
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}" +
    "{% elif message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] + '\\n\\n### Response:\\n' }}" +
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + '\\n\\n' }}" +
    "{% else %}{{ raise_exception('alpaca has no ' + message['role'] + ' role') }}{% endif %}{% endfor %}",
}

/**
 * The string that ends an assistant turn in each built-in; `undefined` means the tokenizer's eos.
 * With `tokens.eos` unset, tunekit uses this as eos when the tokenizer knows it.
 */
export const turnEnd: Record<BuiltinTemplate, string | undefined> = {
  chatml: '<|im_end|>',
  'llama-2': undefined,
  'mistral-instruct': undefined,
  'llama-3': '<|eot_id|>',
  gemma: '<end_of_turn>',
  'phi-3': '<|end|>',
  alpaca: undefined,
  llava: undefined,
}

/** Strings each built-in writes that must be single (added) tokens, or the text round-trip check fails. */
export const templateMarkers: Record<BuiltinTemplate, readonly string[]> = {
  chatml: CHATML_TOKENS,
  'llama-2': [],
  'mistral-instruct': [],
  'llama-3': ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
  gemma: ['<start_of_turn>', '<end_of_turn>'],
  'phi-3': ['<|system|>', '<|user|>', '<|assistant|>', '<|end|>'],
  alpaca: [],
  llava: [],
}
