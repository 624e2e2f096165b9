// The browser client of Portico's ProfileService: a typed connect-es client
// over the Connect or the gRPC-Web transport, with a bearer token,
// X-Client-Version and credentialed fetches (which carry the session
// cookie), and plain-data reports of what JavaScript saw (response headers,
// error codes, decoded details). The demo page and the browser suite both
// use it.

import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  type Client,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { ViolationsSchema } from "./gen/buf/validate/validate_pb";
import { EtagMismatchSchema, ProfileService } from "./gen/portico/profile/v1/profile_pb";

/** The wire protocols a browser can speak to Portico. */
export type TransportKind = "connect" | "grpc-web";

/** ClientOptions configure a ProfileService client. */
export interface ClientOptions {
  /** The gateway's URL, for example "http://127.0.0.1:8080". */
  baseUrl: string;
  /** "connect" (the default) or "grpc-web". */
  transport?: TransportKind;
  /**
   * The bearer token, sent as "Authorization: Bearer <token>": an ID token
   * of the configured issuer, or a development token from `portico
   * dev-token --sub <subject>`. Empty or unset sends no Authorization
   * header (a session cookie may still authenticate the call).
   */
  token?: string;
  /** The X-Client-Version header. Empty or unset sends none. */
  clientVersion?: string;
  /**
   * The fetch credentials mode. connect-web's own default is the browser's
   * "same-origin", which never sends cookies to another origin; this client
   * defaults to "include", as a frontend with a cookie session needs.
   */
  credentials?: RequestCredentials;
  /**
   * Send side-effect-free unary calls (GetProfile, GetPublicProfile) as
   * Connect GET requests. Connect transport only; default false.
   */
  useHttpGet?: boolean;
  /** Use the binary protobuf encoding on the Connect transport; default JSON. */
  binary?: boolean;
  /** Called with the response headers of every call, successful or not. */
  onResponseHeaders?: (procedure: string, headers: Headers) => void;
}

/** ProfileClient is the generated ProfileService API. */
export type ProfileClient = Client<typeof ProfileService>;

/** newTransport returns the connect-es transport that options describe. */
export function newTransport(options: ClientOptions): Transport {
  const credentials = options.credentials ?? "include";
  const fetchWithCredentials: typeof globalThis.fetch = (input, init) =>
    globalThis.fetch(input, { ...init, credentials });
  const interceptors = [identify(options)];
  if (options.transport === "grpc-web") {
    return createGrpcWebTransport({
      baseUrl: options.baseUrl,
      fetch: fetchWithCredentials,
      interceptors,
    });
  }
  return createConnectTransport({
    baseUrl: options.baseUrl,
    fetch: fetchWithCredentials,
    interceptors,
    useHttpGet: options.useHttpGet ?? false,
    useBinaryFormat: options.binary ?? false,
  });
}

/** newProfileClient returns a ProfileService client. */
export function newProfileClient(options: ClientOptions): ProfileClient {
  return createClient(ProfileService, newTransport(options));
}

// identify adds the caller's headers to every request and reports the
// response headers of successful calls (those of failed calls are on
// ConnectError.metadata).
function identify(options: ClientOptions): Interceptor {
  return (next) => async (req) => {
    if (options.token) {
      req.header.set("Authorization", `Bearer ${options.token}`);
    }
    if (options.clientVersion) {
      req.header.set("X-Client-Version", options.clientVersion);
    }
    const res = await next(req);
    options.onResponseHeaders?.(new URL(req.url).pathname, res.header);
    return res;
  };
}

/** A Violation is one field violation of an invalid_argument error. */
export interface ViolationReport {
  /** The field's path, for example "display_name". */
  field: string;
  /** The rule's id, for example "string.min_len". */
  ruleId: string;
  message: string;
}

/** An ErrorReport is what JavaScript can tell about a failed call. */
export interface ErrorReport {
  /** Whether the call threw a ConnectError, as connect-es does for every failure. */
  isConnectError: boolean;
  /** The numeric Connect code. */
  code: number;
  /** The code's name in connect-es, for example "FailedPrecondition". */
  codeName: string;
  /** The message without the "[code]" prefix. */
  rawMessage: string;
  /** The full message, as shown to users. */
  message: string;
  /** Error metadata (response headers and trailers), names in lower case. */
  metadata: Record<string, string>;
  /** The type names of every error detail, decoded or not. */
  detailTypes: string[];
  /** The portico.profile.v1.EtagMismatch detail, if any. */
  etagMismatch?: { requestedEtag: string; currentEtag: string };
  /** The buf.validate.Violations detail's violations, if any. */
  violations?: ViolationReport[];
  /** The cause's message, for network failures ("Failed to fetch"). */
  cause?: string;
}

/** describeError turns anything thrown by a call into an ErrorReport. */
export function describeError(err: unknown): ErrorReport {
  const ce = ConnectError.from(err);
  const report: ErrorReport = {
    isConnectError: err instanceof ConnectError,
    code: ce.code,
    codeName: Code[ce.code] ?? String(ce.code),
    rawMessage: ce.rawMessage,
    message: ce.message,
    metadata: headersToRecord(ce.metadata),
    detailTypes: ce.details.map((d) => ("desc" in d ? d.desc.typeName : d.type)),
  };
  const [mismatch] = ce.findDetails(EtagMismatchSchema);
  if (mismatch) {
    report.etagMismatch = {
      requestedEtag: mismatch.requestedEtag,
      currentEtag: mismatch.currentEtag,
    };
  }
  const [violations] = ce.findDetails(ViolationsSchema);
  if (violations) {
    report.violations = violations.violations.map((v) => ({
      field: (v.field?.elements ?? []).map((e) => e.fieldName).join("."),
      ruleId: v.ruleId,
      message: v.message,
    }));
  }
  if (ce.cause instanceof Error) {
    report.cause = ce.cause.message;
  }
  return report;
}

/** headersToRecord copies the headers JavaScript can read into an object. */
export function headersToRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** messageToJson renders a response message as its canonical JSON. */
export function messageToJson<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): unknown {
  return toJson(schema, message);
}
