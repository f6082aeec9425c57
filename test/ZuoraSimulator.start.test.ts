import * as Effect from "effect/Effect"
import * as Net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import * as Core from "../src/internal/core/simulator.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"

// `start` from plain async code: no Effect runtime, no scope, plain vitest. Every simulator a test starts
// is closed after it, whatever happens.

const { Answer } = ZuoraSimulator

const started: Array<{ readonly close: () => Promise<void> }> = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((simulator) => simulator.close()))
})

const startTracked = async (options?: ZuoraSimulator.Options) => {
  const simulator = await ZuoraSimulator.start(options)
  started.push(simulator)
  return simulator
}

interface TokenBody {
  readonly access_token?: string
  readonly token_type?: string
  readonly expires_in?: number
}

const requestToken = async (
  simulator: { readonly baseUrl: string; readonly credentials: { clientId: string; clientSecret: string } },
  init: { readonly signal?: AbortSignal } = {}
) => {
  const response = await fetch(`${simulator.baseUrl}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: simulator.credentials.clientId,
      client_secret: simulator.credentials.clientSecret
    }),
    ...(init.signal === undefined ? {} : { signal: init.signal })
  })
  const text = await response.text()
  // A scripted answer may have an empty body.
  const body = (text === "" ? {} : JSON.parse(text)) as TokenBody
  return { status: response.status, headers: response.headers, body }
}

/** Whether something listens on the port: a TCP connect that succeeds or is refused. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

describe("ZuoraSimulator.start: the simulator from plain async code", () => {
  it("answers a token request made with fetch and the credentials it gives", async () => {
    const simulator = await startTracked()
    expect(simulator.baseUrl).toBe(`http://127.0.0.1:${simulator.port}`)
    expect(simulator.credentials).toEqual({
      clientId: ZuoraSimulator.defaultClient.clientId,
      clientSecret: ZuoraSimulator.defaultClient.clientSecret
    })
    const { body, status } = await requestToken(simulator)
    expect(status).toBe(200)
    expect(body.token_type).toBe("bearer")
    expect(body.expires_in).toBe(3599)
    expect(typeof body.access_token).toBe("string")
    expect(simulator.stats().tokensIssued).toBe(1)
    expect(simulator.tokens().map((token) => token.token)).toEqual([body.access_token])
    expect(simulator.requests().map((request) => [request.method, request.path, request.status])).toEqual([
      ["POST", "/oauth/token", 200]
    ])

    // The token opens the API.
    const account = await fetch(`${simulator.baseUrl}/v1/accounts/A00000001`, {
      headers: { authorization: `Bearer ${body.access_token}` }
    })
    expect(account.status).toBe(200)
    expect(((await account.json()) as { basicInfo: { accountNumber: string } }).basicInfo.accountNumber).toBe(
      "A00000001"
    )
    const refused = await fetch(`${simulator.baseUrl}/v1/accounts/A00000001`)
    expect(refused.status).toBe(401)
    expect(simulator.stats().apiByStatus).toEqual({ "200": 1, "401": 1 })
  })

  it("close frees the port, ends a hung request, and can be called again", async () => {
    const simulator = await ZuoraSimulator.start()
    const port = simulator.port
    expect(await listening(port)).toBe(true)
    simulator.script(Answer.Hang())
    const hung = requestToken(simulator).then(() => "answered", () => "failed")
    await new Promise((resolve) => setTimeout(resolve, 100))
    await simulator.close()
    expect(await hung).toBe("failed")
    expect(await listening(port)).toBe(false)
    await simulator.close()
    // The same port is free for another simulator.
    const again = await startTracked({ port })
    expect(again.port).toBe(port)
    expect((await requestToken(again)).status).toBe(200)
  })

  it("honours the options: token lifetime, latency, rate limit, clients and routes", async () => {
    const simulator = await startTracked({
      tokenLifetimeSeconds: 60,
      latency: "300 millis",
      rateLimit: { limit: 2, window: "1 minute" },
      clients: [{ clientId: "plain-id", clientSecret: "plain-secret" }],
      routes: [
        { method: "GET", path: "/v1/plain/{name}", handler: ({ params }) => ({ body: { hello: params["name"] } }) },
        { method: "GET", path: "/v1/effect", handler: () => Effect.succeed({ status: 201, body: "made" }) }
      ]
    })
    expect(simulator.credentials).toEqual({ clientId: "plain-id", clientSecret: "plain-secret" })
    const begin = performance.now()
    const first = await requestToken(simulator)
    expect(performance.now() - begin).toBeGreaterThanOrEqual(290)
    expect(first.status).toBe(200)
    expect(first.body.expires_in).toBe(60)
    expect(first.headers.get("ratelimit-limit")).toBe("2;w=60")

    simulator.setLatency(0)
    const token = first.body.access_token!
    const plain = await fetch(`${simulator.baseUrl}/v1/plain/ada`, { headers: { authorization: `Bearer ${token}` } })
    expect(await plain.json()).toEqual({ hello: "ada" })
    const effect = await fetch(`${simulator.baseUrl}/v1/effect`, { headers: { authorization: `Bearer ${token}` } })
    expect([effect.status, await effect.text()]).toEqual([201, "made"])

    simulator.setTokenLifetime(5)
    expect((await requestToken(simulator)).body.expires_in).toBe(5)
    const limited = await requestToken(simulator)
    expect(limited.status).toBe(429)
    expect(limited.headers.get("retry-after")).not.toBeNull()

    // Scripted answers, then back to the start options with reset.
    simulator.reset()
    simulator.script(Answer.RateLimited({ seconds: 7 }), Answer.Status({ status: 503 }))
    const scripted = await requestToken(simulator)
    expect([scripted.status, scripted.headers.get("retry-after")]).toEqual([429, "7"])
    expect((await requestToken(simulator)).status).toBe(503)
    expect(simulator.stats().byStatus).toEqual({ "429": 1, "503": 1 })
  })

  it("scriptApi and revoke work without effects", async () => {
    const simulator = await startTracked({ rateLimit: false })
    const token = (await requestToken(simulator)).body.access_token!
    const call = (path: string) =>
      fetch(`${simulator.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)
    simulator.scriptApi({ method: "GET", path: "/v1/invoices/{key}" }, Answer.Status({ status: 502 }))
    simulator.scriptApi(Answer.TypedError({ status: 400, type: "invalid_request_error", code: "x", message: "no" }))
    expect(await call("/v1/invoices/INV00000001")).toBe(502)
    expect(await call("/v1/accounts/A00000001")).toBe(400)
    expect(await call("/v1/accounts/A00000001")).toBe(200)
    simulator.revoke(token)
    expect(await call("/v1/accounts/A00000001")).toBe(401)
    expect(() => simulator.route({ path: "v1/no-slash" }, () => ({}))).toThrow(/must start with "\/"/)
  })

  it("rejects a bad option with a SimulatorError that says which", async () => {
    const error = await ZuoraSimulator.start({ tokenLifetimeSeconds: 0 }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ZuoraSimulator.SimulatorError)
    expect((error as ZuoraSimulator.SimulatorError).message).toBe(
      "The Zuora simulator cannot start: tokenLifetimeSeconds must be a positive number"
    )
    await expect(ZuoraSimulator.start({ routes: [{ path: "nope", handler: () => ({}) }] })).rejects.toThrow(
      "a route's path must start with \"/\": nope"
    )
    await expect(ZuoraSimulator.start({ port: 70_000 })).rejects.toThrow("port must be an integer from 0 to 65535")
    const notADuration = "soon" as unknown as ZuoraSimulator.Options["latency"]
    await expect(ZuoraSimulator.start({ latency: notADuration })).rejects.toThrow(
      "The Zuora simulator cannot start: latency must be a duration, 0 or more"
    )
  })

  it("rejects when the port is taken", async () => {
    const first = await startTracked()
    await expect(ZuoraSimulator.start({ port: first.port })).rejects.toThrow(
      `The Zuora simulator cannot start: cannot listen on 127.0.0.1:${first.port} (EADDRINUSE)`
    )
  })
})

describe("the Effect-free core's start", () => {
  it("starts, answers a token request, takes milliseconds and plain answers, and closes", async () => {
    const simulator = await Core.start({ latencyMillis: 0, tokenLifetimeSeconds: 120 })
    started.push(simulator)
    simulator.script(Core.Answer.Slow({ millis: 200 }))
    const begin = performance.now()
    const { body, status } = await requestToken(simulator)
    expect(performance.now() - begin).toBeGreaterThanOrEqual(190)
    expect([status, body.expires_in]).toEqual([200, 120])
    expect(Core.Answer.Reset()).toEqual({ _tag: "Reset" })
    simulator.route({ method: "GET", path: "/v1/async" }, async () => ({ body: { ok: true } }))
    const response = await fetch(`${simulator.baseUrl}/v1/async`, {
      headers: { authorization: `Bearer ${body.access_token}` }
    })
    expect(await response.json()).toEqual({ ok: true })
  })

  it("uses the clock it is given for token expiry", async () => {
    let clock = 1_000_000
    const simulator = await Core.start({ tokenLifetimeSeconds: 10, now: () => clock })
    started.push(simulator)
    const token = (await requestToken(simulator)).body.access_token!
    expect(simulator.tokens()[0]).toMatchObject({ issuedAt: 1_000_000, expiresAt: 1_010_000 })
    const call = () =>
      fetch(`${simulator.baseUrl}/v1/accounts/A00000001`, { headers: { authorization: `Bearer ${token}` } })
        .then((r) => r.status)
    expect(await call()).toBe(200)
    clock += 10_000
    expect(await call()).toBe(401)
  })

  it("rejects bad options with its own SimulatorError", async () => {
    const error = await Core.start({ latencyMillis: -1 }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(Core.SimulatorError)
    expect((error as Core.SimulatorError).description).toBe("latency must be a duration, 0 or more")
    await expect(Core.start({ rateLimit: { limit: 5, windowMillis: 0 } })).rejects.toThrow(
      "rateLimit.window must be a positive duration"
    )
  })
})
