/**
 * The console's entry: load the SDK bundle, ask for a token, then wire the panels together.
 * The SDK is the package's own client (src/client), bundled for browsers into /sdk/edgepost.js
 * by `npm run build:console` (run by `npm start`, `npm run build` and `npm run deploy`).
 */
import { forgetToken, isUnauthorized, listNames, saveToken, savedToken } from "./api.js";
import { byId, describeError, el, showResult } from "./dom.js";
import { NameTable } from "./lists.js";
import { wireTopicDelete } from "./admin.js";
import { PublishForm } from "./publish.js";
import { QueuePanel } from "./queue-panel.js";
import { Tail } from "./tail.js";
import { TopicPanel } from "./topic-panel.js";

const SDK_URL = "/sdk/edgepost.js";

const signIn = byId("sign-in");
const signInForm = byId("sign-in-form");
const tokenInput = byId("token");
const signInError = byId("sign-in-error");
const consoleView = byId("console");
const sessionStatus = byId("session-status");
const signOutButton = byId("sign-out");

/** The panels of the signed-in session, stopped on sign-out. */
let session = null;

async function loadSdk() {
  try {
    return await import(SDK_URL);
  } catch (error) {
    console.error(error);
    byId("main").replaceChildren(
      el("p", { class: "notice", role: "alert" }, `The SDK bundle ${SDK_URL} could not be loaded. Build it with \`npm run build:console\` (npm start and npm run build do).`),
    );
    return null;
  }
}

/** Check the token with one cheap request before showing anything: a bad one is told at once. */
async function verify(token) {
  try {
    await listNames(token, "topic", { limit: 1 });
    return null;
  } catch (error) {
    if (isUnauthorized(error)) return "This token was not accepted (unknown, expired, or signed with another key).";
    return `Cannot check the token: ${describeError(error)}`;
  }
}

/** A short description of the credential: a scoped token says its subject and expiry. */
function describeCredential(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return "Signed in with a root key";
  try {
    const claims = JSON.parse(atob(parts[1].replace(/-/g, "+").replace(/_/g, "/")));
    const who = typeof claims.sub === "string" ? ` for ${claims.sub}` : "";
    const until = typeof claims.exp === "number" ? `, until ${new Date(claims.exp * 1000).toLocaleString()}` : "";
    return `Signed in with a scoped token${who}${until}`;
  } catch {
    return "Signed in with a token";
  }
}

function showSignIn(message) {
  consoleView.hidden = true;
  signOutButton.hidden = true;
  signIn.hidden = false;
  showResult(sessionStatus, "");
  signInError.textContent = message ?? "";
  tokenInput.setAttribute("aria-invalid", String(Boolean(message)));
  tokenInput.focus();
}

function start(sdk, token) {
  const client = new sdk.Edgepost({ url: location.origin, token });
  const onListError = (error) => {
    if (isUnauthorized(error)) return void signOut("Your token is no longer accepted (it may have expired). Sign in again.");
    showResult(sessionStatus, `Listing failed: ${describeError(error)}`, false);
  };
  const topics = new NameTable({ kind: "topic", token, client, onSelect: (name) => tail.start(name), onError: onListError });
  const queues = new NameTable({ kind: "queue", token, client, onSelect: (name) => queue.show(name), onError: onListError });
  const topicPanel = new TopicPanel({ client, onMutate: () => topics.refreshSoon() });
  const tail = new Tail({
    client,
    onChange: (topic) => {
      topics.select(topic);
      if (topic === null) topicPanel.hide();
      else topicPanel.show(topic);
    },
  });
  const queue = new QueuePanel({ client, onChange: (name) => queues.select(name), onMutate: () => queues.refreshSoon() });
  const publish = new PublishForm({
    client,
    onPublished: (kind, name) => {
      (kind === "topic" ? topics : queues).refreshSoon();
      if (kind === "queue" && name === queue.name) queue.poller?.now();
    },
  });
  wireTopicDelete({ client, onDeleted: () => topics.refreshSoon() });
  session = { topics, queues, tail, topicPanel, queue, publish };

  signIn.hidden = true;
  consoleView.hidden = false;
  signOutButton.hidden = false;
  showResult(sessionStatus, describeCredential(token));
}

function signOut(message) {
  if (session) {
    session.tail.stop();
    session.topicPanel.hide();
    session.queue.stop();
    session.topics.stop();
    session.queues.stop();
    session = null;
  }
  byId("tail-log").replaceChildren();
  byId("queue-detail").hidden = true;
  forgetToken();
  tokenInput.value = "";
  showSignIn(message);
}

async function main() {
  const sdk = await loadSdk();
  if (!sdk) return;

  signInForm.onsubmit = async (event) => {
    event.preventDefault();
    const token = tokenInput.value.trim();
    if (!token) return showSignIn("Enter the root key or a token.");
    const submit = signInForm.querySelector('button[type="submit"]');
    submit.disabled = true;
    const problem = await verify(token);
    submit.disabled = false;
    if (problem) return showSignIn(problem);
    saveToken(token);
    tokenInput.value = "";
    start(sdk, token);
  };
  signOutButton.onclick = () => signOut();

  const token = savedToken();
  if (!token) return showSignIn();
  const problem = await verify(token);
  if (problem) {
    forgetToken();
    return showSignIn(problem);
  }
  start(sdk, token);
}

void main().catch((error) => {
  console.error(error);
  byId("main").replaceChildren(el("p", { class: "notice", role: "alert" }, `The console failed to start: ${describeError(error)}`));
});
