// oidc-provider ships no types (DefinitelyTyped's lag its majors): the part these tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }

  export interface ProviderConfiguration {
    clients?: Record<string, unknown>[];
    jwks?: { keys: Record<string, unknown>[] };
    cookies?: { keys: string[] };
    features?: Record<string, { enabled: boolean; [option: string]: unknown }>;
    findAccount?: (ctx: unknown, id: string) => Promise<Account | undefined>;
    fetch?: (url: URL | string, options: Record<string, unknown>) => Promise<Response>;
    /** The rest of oidc-provider's configuration (interactions, claims, loadExistingGrant, renderError …), untyped. */
    [option: string]: unknown;
  }

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string };
  }

  export default class Provider {
    constructor(issuer: string, configuration?: ProviderConfiguration);
    on(event: string, listener: (...args: unknown[]) => void): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  }
}
