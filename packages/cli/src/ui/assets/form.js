// The start form, generated from the recipe JSON Schema (`tunekit schema`): one field per key
// whose value is a number, text, yes/no, a choice or a list of those, grouped as the recipe nests
// them, with the key's TSDoc as its help text and the recipe's own value filled in. Keys whose
// value is a record set or one of several object shapes (stage, method, data.source) stay as the
// recipe file has them. Only changed fields are sent, as `--set key=value` flags: the server
// checks them exactly as `tunekit run --set …` does.
'use strict'
window.tk = window.tk || {}

const SCALARS = ['string', 'number', 'integer', 'boolean']

/** What input a schema node takes: 'number', 'boolean', 'enum', 'string', 'json' (a union or list of scalars), or null (not in the form). */
function inputKind(node) {
  if (node.enum) return 'enum'
  if (SCALARS.includes(node.type)) return node.type === 'integer' ? 'number' : node.type
  if (node.type === 'array' && node.items && (SCALARS.includes(node.items.type) || node.items.enum)) return 'json'
  const alts = node.anyOf || node.oneOf
  if (alts && alts.every((a) => SCALARS.includes(a.type) || a.enum || a.const !== undefined || (a.type === 'array' && a.items && SCALARS.includes(a.items.type)))) return 'json'
  return null
}

/** The text a field shows for a value. */
function shown(kind, value) {
  if (value === undefined || value === null) return ''
  return kind === 'json' || typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** The `--set` value of a field's text: a string field's text is quoted (so "12" stays text), others are JSON or text as the CLI reads them. */
function setValue(kind, text) {
  return kind === 'string' || kind === 'enum' ? JSON.stringify(text) : text
}

function field(path, node, value) {
  const kind = inputKind(node)
  const row = document.createElement('div')
  row.className = 'field'
  const id = `f-${path.replaceAll('.', '-')}`
  row.innerHTML = '<label></label><div></div><div class="help"></div>'
  row.querySelector('label').textContent = path
  row.querySelector('label').htmlFor = id
  row.querySelector('.help').textContent = (node.description || '').split('\n')[0]
  let input
  if (kind === 'enum') {
    input = document.createElement('select')
    for (const option of ['', ...node.enum]) input.add(new Option(option === '' ? '(unset)' : String(option), String(option)))
  } else if (kind === 'boolean') {
    input = document.createElement('select')
    for (const option of ['', 'true', 'false']) input.add(new Option(option === '' ? '(unset)' : option, option))
  } else {
    input = document.createElement('input')
    input.type = 'text' // a number field as text: the CLI's checks judge it, not the browser
    if (kind === 'number') input.inputMode = 'decimal'
  }
  input.id = id
  input.name = path
  input.value = shown(kind, value)
  input.dataset.initial = input.value
  input.dataset.kind = kind === 'boolean' || kind === 'number' ? 'json' : kind
  input.addEventListener('input', () => row.classList.toggle('changed', input.value !== input.dataset.initial))
  row.children[1].appendChild(input)
  return row
}

/** Fills `parent` with the fields of the object schema `node` at `prefix`; returns how many. */
function fields(parent, node, values, prefix) {
  let n = 0
  for (const [key, child] of Object.entries(node.properties || {})) {
    const path = `${prefix}${key}`
    if (path === '$schema' || path === 'name') continue
    if (child.properties) {
      const group = document.createElement('details')
      group.innerHTML = '<summary></summary>'
      group.querySelector('summary').textContent = path
      group.title = child.description || ''
      group.open = path === 'args' // the optimisation keys are what a run changes most
      if (fields(group, child, values, `${path}.`) > 0) { parent.appendChild(group); n++ }
    } else if (inputKind(child)) {
      parent.appendChild(field(path, child, values[path]))
      n++
    }
  }
  return n
}

/** Builds the form for a recipe's schema and values into `parent`; `collect()` gives its `--set` flags. */
window.tk.recipeForm = function recipeForm(parent, schema, values) {
  const form = document.createElement('form')
  form.className = 'recipe'
  fields(form, schema, values, '')
  parent.appendChild(form)
  return {
    form,
    collect() {
      return [...form.querySelectorAll('input, select')]
        .filter((i) => i.value !== i.dataset.initial && i.value !== '')
        .map((i) => `${i.name}=${setValue(i.dataset.kind, i.value)}`)
    },
    /** Sets a field by key (what a user types), for the page's own shortcuts and tests. */
    set(path, text) {
      const input = form.querySelector(`[name="${path}"]`)
      input.value = text
      input.dispatchEvent(new Event('input'))
    },
  }
}
