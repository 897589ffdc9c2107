/** Delivery (docs/semantics.md §12): webhook sinks and agent wake-ups, signed with Standard Webhooks. */
export * from './types';
export { loadDeliveryConfig, deliverySettingsOf, secretProblem, DeliveryConfigError, DELIVERY_EVENT_TYPES, DEFAULT_SINK_ID, PEOPLE_SINK_ID, PEOPLE_EVENT_TYPES, DEFAULT_SINK_RETRY, DEFAULT_WAKE_UP_RETRY, DEFAULT_REQUEST_TIMEOUT_MS } from './config';
export { signatureHeaders, type SignatureHeaders } from './signing';
export { postJson, userAgent, describeUrl, urlHost, type PostOutcome, type PostOptions } from './http';
export { EnvelopeBuilder, buildWebhookEnvelope, runSummaryOf, wakeUpEnvelopeOf, approvalUrl, peopleEndpoints, peopleEnvelope } from './envelope';
export { createDeliveryActivities, DeliveryFailureType, type DeliveryDependencies, type DeliveryProgress } from './activities';
