/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), made by the `standardwebhooks`
 * library so any Standard Webhooks verifier accepts them. The signed content is
 * `<webhook-id>.<webhook-timestamp>.<body>`, HMAC-SHA256 with the secret's base64-decoded bytes.
 */
import { Webhook } from 'standardwebhooks';

export interface SignatureHeaders {
  /** The delivery id: the event id (`<runId>:<seq>`), for wake-ups the causing event's id. Receivers de-duplicate on it. */
  'webhook-id': string;
  /** Unix time in seconds when the request was signed. */
  'webhook-timestamp': string;
  /** `v1,<base64 HMAC-SHA256>`. */
  'webhook-signature': string;
}

/** The three Standard Webhooks headers for `body`, signed with `secret` (`whsec_…`) at `at`. */
export function signatureHeaders(secret: string, msgId: string, body: string, at: Date = new Date()): SignatureHeaders {
  const signature = new Webhook(secret).sign(msgId, at, body);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
