// The family registry lookup every Hugging Face reader and writer starts from (its own file so the
// metadata writer and the folder reader both import it without importing each other).
import { fail, familyInfo, familyNames, type FamilyInfo } from '@tunekit/core'

/** The family registry entry of a family name, or an UnknownFamily error. */
export function familyOf(family: string, path = 'model.family'): FamilyInfo {
  return familyInfo(family) ?? fail('UnknownFamily', { path, value: family }, family, familyNames)
}
