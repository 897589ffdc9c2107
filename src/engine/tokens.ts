/**
 * Work-item tokens (docs/semantics.md, "Who may act"): every attempt handed to an agent carries an
 * opaque token, and a run that requires tokens takes a result only with the current attempt's.
 *
 * The engine stays pure: the workflow draws one random secret per run (`RunState.tokenSecret`,
 * from its deterministic randomness) and every token is derived from it, so no token has to be
 * stored, and replay derives the same ones. The derivation is an HMAC-SHA-256 (a well-kept
 * implementation, `@noble/hashes`, that runs in the workflow sandbox), so an agent that holds one
 * attempt's token learns nothing about any other attempt's, or the secret.
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { NodeRun, Refusal, RunState } from './types';

/** The prefix every work-item token starts with, so a token found in a log says what it is. */
export const WORK_ITEM_TOKEN_PREFIX = 'wit_';
/** Hex digits kept from the HMAC: 160 bits, far beyond guessing. */
const TOKEN_HEX_LENGTH = 40;
/** Earlier attempts checked when telling a stale token from a wrong one (a bound on the work). */
const STALE_ATTEMPTS_CHECKED = 100;

/** The token of attempt `attempt` of node `nodeId` (an instance id such as `research[2]` included). */
export function workItemToken(secret: string, runId: string, nodeId: string, attempt: number): string {
  const mac = hmac(sha256, utf8ToBytes(secret), utf8ToBytes(`${runId}\n${nodeId}\n${attempt}`));
  return WORK_ITEM_TOKEN_PREFIX + bytesToHex(mac).slice(0, TOKEN_HEX_LENGTH);
}

/** The token of a node's current attempt, or undefined when the run has no secret (it started before tokens). */
export function currentToken(state: RunState, node: NodeRun, attempt: number): string | undefined {
  return state.tokenSecret === undefined ? undefined : workItemToken(state.tokenSecret, state.runId, node.nodeId, attempt);
}

/**
 * Why a result's token is refused, or undefined when it may go on. A token is checked whenever one
 * is given (a wrong token is never ignored); a missing one is refused only when the run requires
 * tokens. A token of an earlier attempt is `stale-attempt`, so the agent knows it was superseded;
 * anything else is `invalid-token`. Messages never echo a token.
 */
export function tokenRefusal(state: RunState, node: NodeRun, token: string | undefined, attempt: number): Refusal | undefined {
  const secret = state.tokenSecret;
  const required = requiresTokens(state);
  if (token === undefined) {
    if (!required) return undefined;
    return invalid(`Node "${node.nodeId}" takes results only with the work item's token (this run requires tokens): send the "token" of the work item for attempt ${attempt}.`);
  }
  if (secret === undefined) {
    if (!required) return undefined;
    return invalid(`Node "${node.nodeId}" cannot check tokens: this run started before work-item tokens existed.`);
  }
  if (constantTimeEqual(token, workItemToken(secret, state.runId, node.nodeId, attempt))) return undefined;
  for (let earlier = attempt - 1; earlier >= Math.max(1, attempt - STALE_ATTEMPTS_CHECKED); earlier -= 1) {
    if (constantTimeEqual(token, workItemToken(secret, state.runId, node.nodeId, earlier))) {
      return { refused: true, reason: 'stale-attempt', message: `The token is the one of attempt ${earlier} of node "${node.nodeId}", which is stale: the current attempt is ${attempt}; read the current work item.` };
    }
  }
  return invalid(`The token is not the one of any attempt of node "${node.nodeId}": send the "token" of its current work item (attempt ${attempt}).`);
}

/** Whether `token` is the token of any attempt up to `attempt` of the node (for duplicate submissions). */
export function isTokenOfNode(state: RunState, nodeId: string, token: string | undefined, attempt: number): boolean {
  if (token === undefined || state.tokenSecret === undefined) return false;
  for (let n = attempt; n >= Math.max(1, attempt - STALE_ATTEMPTS_CHECKED); n -= 1) {
    if (constantTimeEqual(token, workItemToken(state.tokenSecret, state.runId, nodeId, n))) return true;
  }
  return false;
}

/** Whether results must carry tokens: recorded at start (plan or worker), or asked for by a replanned spec. */
export function requiresTokens(state: RunState): boolean {
  return state.requireWorkItemTokens === true || state.spec.requireWorkItemTokens === true;
}

function invalid(message: string): Refusal {
  return { refused: true, reason: 'invalid-token', message };
}

/** Compares without returning early on the first difference, so timing tells nothing about a token. */
function constantTimeEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i += 1) difference |= (a.charCodeAt(i) || 0) ^ b.charCodeAt(i);
  return difference === 0;
}
