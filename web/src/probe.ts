// The probe API: plain-data calls that report what JavaScript saw, for the
// browser suite (which drives them through page.evaluate) and for anyone
// poking at a gateway from the demo page's console (window.portico).
// Everything crossing it is structured-clonable: no Headers, no classes.

import { toJson, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import {
  describeError,
  headersToRecord,
  newProfileClient,
  newTransport,
  type ClientOptions,
  type ErrorReport,
} from "./client";
import { SessionService } from "./gen/portico/session/v1/session_pb";
import {
  ProfileService,
  type DeleteProfileRequestSchema,
  type GetProfileRequestSchema,
  type GetPublicProfileRequestSchema,
  type UpdateProfileRequestSchema,
} from "./gen/portico/profile/v1/profile_pb";

/** The unary methods a probe can call, by their proto names. */
export type UnaryMethod = "GetProfile" | "UpdateProfile" | "DeleteProfile" | "GetPublicProfile";

/** A CallSpec describes one unary call. */
export interface CallSpec extends Omit<ClientOptions, "onResponseHeaders"> {
  method: UnaryMethod;
  /** The request message, as a message init object (camelCase fields). */
  request?: Record<string, unknown>;
  /** The If-Match request header. Unset sends none. */
  ifMatch?: string;
  /** A Connect-Timeout-Ms / Grpc-Timeout header. Unset sends none. */
  timeoutMs?: number;
  /**
   * How long JavaScript waits before aborting the call, without telling the
   * server (no header): default 10 s.
   */
  deadlineMs?: number;
}

/** An Outcome is what JavaScript saw of a call. */
export interface Outcome {
  ok: boolean;
  /** The response message as canonical JSON, on success. */
  response?: unknown;
  /** The response headers JavaScript can read, names in lower case. */
  headers?: Record<string, string>;
  /** The failure, if any. */
  error?: ErrorReport;
  /** Milliseconds from the call to its outcome. */
  ms: number;
}

const defaultDeadlineMs = 10_000;

/** call makes one unary call and reports what JavaScript saw. */
export async function call(spec: CallSpec): Promise<Outcome> {
  const started = performance.now();
  let headers: Record<string, string> | undefined;
  const client = newProfileClient({
    ...spec,
    onResponseHeaders: (_, h) => {
      headers = headersToRecord(h);
    },
  });
  const options = {
    headers: spec.ifMatch === undefined ? undefined : { "If-Match": spec.ifMatch },
    timeoutMs: spec.timeoutMs,
    signal: AbortSignal.timeout(spec.deadlineMs ?? defaultDeadlineMs),
  };
  const request = spec.request ?? {};
  try {
    let response: unknown;
    switch (spec.method) {
      case "GetProfile":
        response = toJson(
          ProfileService.method.getProfile.output,
          await client.getProfile(request as MessageInitShape<typeof GetProfileRequestSchema>, options),
        );
        break;
      case "UpdateProfile":
        response = toJson(
          ProfileService.method.updateProfile.output,
          await client.updateProfile(request as MessageInitShape<typeof UpdateProfileRequestSchema>, options),
        );
        break;
      case "DeleteProfile":
        response = toJson(
          ProfileService.method.deleteProfile.output,
          await client.deleteProfile(request as MessageInitShape<typeof DeleteProfileRequestSchema>, options),
        );
        break;
      case "GetPublicProfile":
        response = toJson(
          ProfileService.method.getPublicProfile.output,
          await client.getPublicProfile(
            request as MessageInitShape<typeof GetPublicProfileRequestSchema>,
            options,
          ),
        );
        break;
      default:
        throw new Error(`unknown method ${String(spec.method)}`);
    }
    return { ok: true, response, headers, ms: performance.now() - started };
  } catch (err) {
    return { ok: false, error: describeError(err), headers, ms: performance.now() - started };
  }
}

/** A WatchSpec describes a WatchProfile stream. */
export type WatchSpec = Omit<ClientOptions, "onResponseHeaders">;

/** A Watch is an open WatchProfile stream. */
export interface Watch {
  /**
   * next waits at most timeoutMs for the next message. Its outcome has
   * done: true when the stream ended cleanly.
   */
  next(timeoutMs: number): Promise<Outcome & { done?: boolean }>;
  /** close aborts the stream and reports how it ended (normally Canceled). */
  close(): Promise<Outcome & { done?: boolean }>;
}

/** watch opens a WatchProfile stream. */
export function watch(spec: WatchSpec): Watch {
  const started = performance.now();
  let headers: Record<string, string> | undefined;
  const abort = new AbortController();
  const client = newProfileClient({
    ...spec,
    onResponseHeaders: (_, h) => {
      headers = headersToRecord(h);
    },
  });
  const stream = client.watchProfile({}, { signal: abort.signal })[Symbol.asyncIterator]();
  let ended: Outcome & { done?: boolean } | undefined;
  const step = async (): Promise<Outcome & { done?: boolean }> => {
    if (ended) {
      return ended;
    }
    try {
      const r = await stream.next();
      if (r.done) {
        ended = { ok: true, done: true, headers, ms: performance.now() - started };
        return ended;
      }
      const response = toJson(ProfileService.method.watchProfile.output, r.value);
      return { ok: true, response, headers, ms: performance.now() - started };
    } catch (err) {
      ended = { ok: false, done: true, error: describeError(err), headers, ms: performance.now() - started };
      return ended;
    }
  };
  let pending: Promise<Outcome & { done?: boolean }> | undefined;
  return {
    async next(timeoutMs) {
      pending ??= step();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const r = await Promise.race([pending, timeout]);
      clearTimeout(timer);
      if (r === "timeout") {
        // The pending read stays in flight; the next call waits for it.
        return {
          ok: false,
          error: describeError(new Error(`no message within ${timeoutMs} ms`)),
          headers,
          ms: performance.now() - started,
        };
      }
      pending = undefined;
      return r;
    },
    async close() {
      abort.abort();
      const r = await (pending ?? step());
      pending = undefined;
      return r;
    },
  };
}

/** A SessionSpec describes one SessionService call. */
export interface SessionSpec extends Omit<ClientOptions, "onResponseHeaders"> {
  method: "CreateSession" | "DeleteSession";
}

/**
 * session calls SessionService: CreateSession exchanges spec.token for the
 * HttpOnly session cookie, which the browser stores and JavaScript never
 * sees; DeleteSession clears it. Use credentials "include" (the default),
 * or the browser ignores Set-Cookie on a cross-origin response.
 */
export async function session(spec: SessionSpec): Promise<Outcome> {
  const started = performance.now();
  let headers: Record<string, string> | undefined;
  const client = createClient(
    SessionService,
    newTransport({
      ...spec,
      onResponseHeaders: (_, h) => {
        headers = headersToRecord(h);
      },
    }),
  );
  const signal = AbortSignal.timeout(defaultDeadlineMs);
  try {
    const response =
      spec.method === "CreateSession"
        ? toJson(SessionService.method.createSession.output, await client.createSession({}, { signal }))
        : toJson(SessionService.method.deleteSession.output, await client.deleteSession({}, { signal }));
    return { ok: true, response, headers, ms: performance.now() - started };
  } catch (err) {
    return { ok: false, error: describeError(err), headers, ms: performance.now() - started };
  }
}

/** The API the demo page exposes as window.portico. */
export const probe = { call, watch, session };

declare global {
  interface Window {
    portico: typeof probe;
  }
}
