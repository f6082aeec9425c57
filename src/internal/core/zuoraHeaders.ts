/**
 * The multi-entity and multi-org headers without Effect: `Zuora-Entity-Ids` and `Zuora-Org-Ids`,
 * validated once for the token request and the API client of both Effect editions.
 *
 * @internal
 */

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const orgId = /^[\x21-\x7E]+$/

export type Checked = { readonly ok: true; readonly value: Record<string, string> } | {
  readonly ok: false
  readonly problem: { readonly setting: string; readonly description: string }
}

/** The headers as entries (none when a list is empty or absent), or what is wrong, never the ids. */
export const entityAndOrgHeaders = (options: {
  readonly entityIds?: ReadonlyArray<string> | undefined
  readonly orgIds?: ReadonlyArray<string> | undefined
}): Checked => {
  const fail = (setting: string, description: string): Checked => ({ ok: false, problem: { setting, description } })
  const out: Record<string, string> = {}
  for (const setting of ["entityIds", "orgIds"] as const) {
    const value: unknown = options[setting]
    if (value !== undefined && !(Array.isArray(value) && value.every((id) => typeof id === "string"))) {
      return fail(setting, "must be an array of strings")
    }
  }
  if (options.entityIds !== undefined && options.entityIds.length > 0) {
    const bad = options.entityIds.findIndex((id) => !uuid.test(id))
    if (bad >= 0) return fail("entityIds", `entry ${bad} is not a UUID with hyphens (36 characters)`)
    out["zuora-entity-ids"] = options.entityIds.join(",")
  }
  if (options.orgIds !== undefined && options.orgIds.length > 0) {
    const bad = options.orgIds.findIndex((id) => !orgId.test(id) || id.includes(","))
    if (bad >= 0) return fail("orgIds", `entry ${bad} is empty or contains a comma, a space or a control character`)
    out["zuora-org-ids"] = options.orgIds.join(",")
  }
  return { ok: true, value: out }
}
