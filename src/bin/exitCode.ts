/**
 * The exit codes of `zuora-oauth`, one per kind of outcome, and the line every help text ends with.
 *
 * @internal
 */

export const ExitCode = {
  Ok: 0,
  /** Zuora answered and refused: bad credentials (401) or a rejected request (400, 403). */
  Refused: 1,
  Usage: 2,
  Configuration: 3,
  Network: 4,
  RateLimited: 5,
  ServerError: 6,
  UnexpectedResponse: 7,
  Internal: 70
} as const

export const exitCodeHelp =
  "exit codes: 0 ok, 1 refused by Zuora, 2 usage error, 3 configuration error, 4 network error,\n" +
  "            5 rate limited, 6 Zuora server error, 7 unexpected response, 70 internal error"
