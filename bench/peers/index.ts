/**
 * The clients of the comparison, ours first.
 */
import { axiosOauthClient } from "./axios-oauth-client.js"
import { badgateway } from "./badgateway.js"
import { openidClient } from "./openid-client.js"
import { ours } from "./ours.js"
import { simpleOauth2 } from "./simple-oauth2.js"
import type { ClientSpec } from "./types.js"

export const clients: ReadonlyArray<ClientSpec> = [ours, simpleOauth2, openidClient, badgateway, axiosOauthClient]
