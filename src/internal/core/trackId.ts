/**
 * The rules of a `Zuora-Track-Id` without Effect: 1 to 64 characters of printable US-ASCII, none of
 * `:` `;` `"` `'`, and no leading or trailing space. Both Effect editions validate through this module.
 *
 * @internal
 */

/** What is wrong with a track id, the first rule it breaks; `undefined` when it is valid. */
export const problem = (input: string): string | undefined => {
  if (input.length === 0) return "a track id must not be empty"
  if (input.length > 64) return "a track id is at most 64 characters"
  if (!/^[\x20-\x7E]*$/.test(input)) return "a track id is printable US-ASCII only"
  if (!/^[^:;"']*$/.test(input)) return "a track id must not contain : ; \" or '"
  if (!/^\S(?:.*\S)?$/.test(input)) return "a track id must not start or end with a space"
  return undefined
}
