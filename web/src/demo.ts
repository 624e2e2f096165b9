// The demo page: a profile viewer and editor for a local portico. It also
// exposes the probe API as window.portico, which the browser suite drives.

import type { TransportKind } from "./client";
import { probe, type CallSpec, type Outcome, type UnaryMethod } from "./probe";

window.portico = probe;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) {
    throw new Error(`demo: #${id} is missing`);
  }
  return el as T;
};

const server = $<HTMLInputElement>("server");
const token = $<HTMLInputElement>("token");
const transport = $<HTMLSelectElement>("transport");
const useGet = $<HTMLInputElement>("use-get");
const displayName = $<HTMLInputElement>("display-name");
const email = $<HTMLInputElement>("email");
const bio = $<HTMLTextAreaElement>("bio");
const etag = $("etag");
const ifMatch = $("if-match");
const status = $("status");
const calls = $("calls");
const publicId = $<HTMLInputElement>("public-id");
const publicResult = $("public-result");
const buttons = ["load", "save", "delete", "lookup"].map((id) => $<HTMLButtonElement>(id));

// The query string may preset the connection:
// ?server=...&token=...&transport=grpc-web (`make demo` prints such a URL).
const params = new URLSearchParams(location.search);
server.value = params.get("server") ?? server.value;
token.value = params.get("token") ?? token.value;
publicId.value = subjectOf(token.value) ?? publicId.value;
token.addEventListener("change", () => {
  publicId.value = subjectOf(token.value) ?? publicId.value;
});

// subjectOf reads the "sub" claim of a JWT, for display only: the server
// verifies the token, the page never does.
function subjectOf(jwt: string): string | undefined {
  try {
    const payload = jwt.trim().split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const sub: unknown = JSON.parse(json).sub;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}
if (params.get("transport") === "grpc-web") {
  transport.value = "grpc-web";
}

// The ETag of the version shown, sent as If-Match on save and delete.
let currentEtag: string | undefined;

function setEtag(value: string | undefined): void {
  currentEtag = value;
  etag.textContent = value ?? "none";
  ifMatch.textContent = value ?? "none (creates)";
}
setEtag(undefined);

interface ProfileJson {
  id?: string;
  displayName?: string;
  email?: string;
  bio?: string;
  etag?: string;
}

function showProfile(p: ProfileJson | undefined): void {
  displayName.value = p?.displayName ?? "";
  email.value = p?.email ?? "";
  bio.value = p?.bio ?? "";
}

async function run(method: UnaryMethod, spec: Partial<CallSpec>, anonymous = false): Promise<Outcome> {
  buttons.forEach((b) => (b.disabled = true));
  const kind = transport.value as TransportKind;
  try {
    const outcome = await probe.call({
      baseUrl: server.value.replace(/\/+$/, ""),
      transport: kind,
      token: anonymous ? undefined : token.value.trim(),
      clientVersion: "demo-1",
      credentials: anonymous ? "omit" : "include",
      useHttpGet: useGet.checked,
      method,
      ...spec,
    });
    logCall(method, kind, outcome);
    return outcome;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function logCall(method: string, kind: string, o: Outcome): void {
  const tr = document.createElement("tr");
  const result = o.ok ? "ok" : snake(o.error?.codeName ?? "unknown");
  for (const [text, cls] of [
    [method, ""],
    [kind, ""],
    [result, o.ok ? "ok" : "error"],
    [o.headers?.["etag"] ?? o.error?.metadata["etag"] ?? "", "mono"],
    [o.ms.toFixed(0), ""],
  ] as const) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) {
      td.className = cls;
    }
    tr.append(td);
  }
  calls.prepend(tr);
  while (calls.children.length > 8) {
    calls.lastElementChild?.remove();
  }
}

// snake turns "FailedPrecondition" into the wire name "failed_precondition".
function snake(name: string): string {
  return name.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}

function showOk(text: string): void {
  status.className = "ok";
  status.textContent = text;
}

function showError(o: Outcome): void {
  const e = o.error;
  status.className = "error";
  status.textContent = "";
  if (!e) {
    return;
  }
  const head = document.createElement("strong");
  head.textContent = `${snake(e.codeName)} (code ${e.code})`;
  status.append(head, document.createTextNode(`: ${e.rawMessage}`));
  const items: string[] = [];
  if (e.etagMismatch) {
    items.push(
      `EtagMismatch: requested ${e.etagMismatch.requestedEtag || "(none)"}, current ${e.etagMismatch.currentEtag || "(none)"}`,
    );
  }
  for (const v of e.violations ?? []) {
    items.push(`${v.field}: ${v.message} [${v.ruleId}]`);
  }
  if (e.metadata["etag"]) {
    items.push(`ETag in error metadata: ${e.metadata["etag"]}`);
  }
  if (e.cause) {
    items.push(`cause: ${e.cause}`);
  }
  if (items.length === 0 && e.detailTypes.length > 0) {
    items.push(`details: ${e.detailTypes.join(", ")}`);
  }
  if (items.length > 0) {
    const ul = document.createElement("ul");
    for (const text of items) {
      const li = document.createElement("li");
      li.textContent = text;
      ul.append(li);
    }
    status.append(ul);
  }
}

async function load(): Promise<void> {
  const o = await run("GetProfile", {});
  if (o.ok) {
    const p = (o.response as { profile?: ProfileJson }).profile;
    showProfile(p);
    setEtag(o.headers?.["etag"] ?? p?.etag);
    showOk(`Loaded ${p?.id ?? "profile"}: ETag ${o.headers?.["etag"] ?? "(not readable)"}`);
  } else {
    if (o.error?.codeName === "NotFound") {
      setEtag(undefined);
    }
    showError(o);
  }
}

async function save(): Promise<void> {
  const o = await run("UpdateProfile", {
    request: { displayName: displayName.value, email: email.value, bio: bio.value },
    ifMatch: currentEtag,
  });
  if (o.ok) {
    const p = (o.response as { profile?: ProfileJson }).profile;
    showProfile(p);
    setEtag(o.headers?.["etag"] ?? p?.etag);
    showOk(
      `Saved: ETag ${o.headers?.["etag"] ?? "(not readable)"}, Location ${o.headers?.["location"] ?? "(not readable)"}`,
    );
  } else {
    showError(o);
  }
}

async function remove(): Promise<void> {
  const o = await run("DeleteProfile", { ifMatch: currentEtag });
  if (o.ok) {
    showProfile(undefined);
    setEtag(undefined);
    showOk("Deleted.");
  } else {
    showError(o);
  }
}

async function lookup(): Promise<void> {
  const o = await run("GetPublicProfile", { request: { id: publicId.value.trim() } }, true);
  publicResult.textContent = "";
  if (o.ok) {
    const p = (o.response as { profile?: ProfileJson }).profile;
    const name = document.createElement("strong");
    name.textContent = p?.displayName ?? "";
    publicResult.append(name, document.createTextNode(` (${p?.id ?? ""}) · ${p?.bio || "no bio"}`));
    showOk(`Public profile of ${p?.id ?? ""} read without credentials.`);
  } else {
    showError(o);
  }
}

$("load").addEventListener("click", () => void load());
$("save").addEventListener("click", () => void save());
$("delete").addEventListener("click", () => void remove());
$("lookup").addEventListener("click", () => void lookup());
document.body.dataset["ready"] = "true";
