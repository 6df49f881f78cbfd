// The live order board (README "Events"): GET /api/orders/board, then the event stream from the
// board's cursor. Plain browser JavaScript, same origin only (the page's CSP allows nothing else).
//
// Why it never misses a change: the board and its cursor come from one snapshot, the stream resumes
// exactly after a cursor, and every order event carries the whole order with its version, so an
// event for a version the board already shows is skipped. Stream tokens are single use, so a dropped
// stream is reopened here (a fresh token, ?after=<last cursor seen>) rather than by EventSource's own
// retry, which would resend the spent token.
"use strict";

(() => {
  const STATUSES = ["pending", "confirmed", "preparing", "ready"];
  const ORDER_EVENTS = ["order.created", "order.updated", "order.status_changed", "order.cancelled"];
  const KEY_TOKEN = "tally.board.token";
  const KEY_TENANT = "tally.board.tenant";

  const $ = (id) => document.getElementById(id);
  const stateEl = $("state");
  const form = $("sign-in");
  const boardEl = $("board");
  const signOut = $("sign-out");

  /** id → { version, status, order? }: every order seen, open or not, so stale events are recognised. */
  let known = new Map();
  let counts = {};
  let cursor = "0.0";
  let source = null;
  let retryTimer = null;
  let failures = 0;
  let generation = 0; // bumps on sign-out/sign-in so late callbacks of an old session do nothing

  function setState(state, text) {
    stateEl.dataset.state = state;
    stateEl.textContent = text;
  }

  function credentials() {
    return { token: sessionStorage.getItem(KEY_TOKEN), tenant: sessionStorage.getItem(KEY_TENANT) || "" };
  }

  function headers() {
    const { token, tenant } = credentials();
    const h = { authorization: `Bearer ${token}`, accept: "application/json" };
    if (tenant) h["x-tenant"] = tenant;
    return h;
  }

  class ApiFailure extends Error {
    constructor(status, body) {
      const error = body && body.error;
      super(error ? `${error.message} (${error.code}, request ${error.requestId})` : `HTTP ${status}`);
      this.status = status;
      this.code = error && error.code;
    }
  }

  async function api(method, path) {
    const response = await fetch(path, { method, headers: headers(), cache: "no-store", credentials: "omit" });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiFailure(response.status, body);
    return body;
  }

  function showSignIn(message) {
    stopStream();
    boardEl.hidden = true;
    signOut.hidden = true;
    form.hidden = false;
    $("sign-in-error").textContent = message || "";
    $("tenant").value = sessionStorage.getItem(KEY_TENANT) || "";
    setState("signed-out", "Signed out");
  }

  // ---- rendering (textContent only: names and notes are the shop's customers' words) ----

  const money = (cents) => (cents / 100).toFixed(2);

  function card(order) {
    const li = document.createElement("li");
    li.className = `card ${order.priority}`;
    li.dataset.orderId = order.id;
    li.dataset.version = String(order.version);
    const title = document.createElement("div");
    const number = document.createElement("span");
    number.className = "number";
    number.textContent = `#${order.number}`;
    title.append(number, ` · ${order.channel}${order.priority !== "normal" ? ` · ${order.priority}` : ""}`);
    const meta = document.createElement("p");
    meta.className = "meta";
    const who = order.customer ? order.customer.name : "walk-in";
    meta.textContent = `${who} · ${order.units} unit${order.units === 1 ? "" : "s"} · ${money(order.totalCents)}${order.expectedDeliveryDate ? ` · due ${order.expectedDeliveryDate}` : ""}`;
    const lines = document.createElement("ul");
    lines.className = "lines";
    for (const line of order.lines.slice(0, 5)) {
      const item = document.createElement("li");
      item.textContent = `${line.quantity}× ${line.name}`;
      lines.append(item);
    }
    if (order.lines.length > 5) {
      const more = document.createElement("li");
      more.textContent = `… ${order.lines.length - 5} more`;
      lines.append(more);
    }
    li.append(title, meta, lines);
    return li;
  }

  function render(freshId) {
    for (const status of STATUSES) {
      const column = boardEl.querySelector(`[data-status="${status}"]`);
      const orders = [...known.values()].filter((k) => k.order && k.status === status).map((k) => k.order);
      orders.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
      const list = column.querySelector(".cards");
      list.replaceChildren(
        ...orders.map((o) => {
          const el = card(o);
          if (o.id === freshId) el.classList.add("fresh");
          return el;
        }),
      );
      column.querySelector(".count").textContent = String(Math.max(counts[status] || 0, orders.length));
    }
  }

  // ---- the model: the board, then events applied by order version ----

  function loadBoard(board) {
    known = new Map();
    counts = { ...board.counts };
    cursor = board.cursor;
    for (const status of STATUSES) for (const order of board.columns[status]) known.set(order.id, { version: order.version, status: order.status, order });
    render();
  }

  function apply(type, envelope) {
    const order = envelope && envelope.data && envelope.data.order;
    if (!order || !order.id) return;
    const before = known.get(order.id);
    if (before && before.version >= order.version) return; // already on the board (or older)
    // The previous status: what we held, else what the event says it came from (an order beyond the
    // board's per-column cap), else none (a new order, or an edit that did not move it).
    const from = before ? before.status : envelope.data.from || (type === "order.created" ? null : order.status);
    if (from && STATUSES.includes(from) && (before || from !== order.status)) counts[from] = Math.max(0, (counts[from] || 0) - 1);
    if (STATUSES.includes(order.status) && (before || from !== order.status)) counts[order.status] = (counts[order.status] || 0) + 1;
    const open = STATUSES.includes(order.status);
    known.set(order.id, { version: order.version, status: order.status, order: open ? order : undefined });
    render(order.id);
  }

  // ---- the stream ----

  function stopStream() {
    if (source) source.close();
    source = null;
    clearTimeout(retryTimer);
    retryTimer = null;
  }

  function scheduleReconnect(mine) {
    stopStream();
    if (mine !== generation) return;
    // Quick after a clean end (the stream closes itself before the function's deadline), backing
    // off while the API keeps failing.
    const delay = Math.min(30_000, failures === 0 ? 250 : 1000 * 2 ** Math.min(failures - 1, 5));
    failures += 1;
    setState("reconnecting", "Reconnecting…");
    retryTimer = setTimeout(() => connect(mine), delay);
  }

  async function connect(mine) {
    if (mine !== generation) return;
    let token;
    try {
      ({ token } = await api("POST", "/api/events/stream-token"));
    } catch (error) {
      if (mine !== generation) return;
      if (error.status === 401 || error.status === 403) return showSignIn(`Signed out: ${error.message}`);
      return scheduleReconnect(mine);
    }
    if (mine !== generation) return;
    const url = `/api/events/stream?types=${encodeURIComponent("order.*")}&after=${encodeURIComponent(cursor)}&token=${encodeURIComponent(token)}`;
    const es = new EventSource(url);
    source = es;
    es.onopen = () => {
      if (source !== es) return;
      failures = 0;
      setState("live", "Live");
    };
    for (const type of ORDER_EVENTS) {
      es.addEventListener(type, (message) => {
        if (source !== es) return;
        let envelope;
        try {
          envelope = JSON.parse(message.data);
        } catch {
          return;
        }
        if (message.lastEventId) cursor = message.lastEventId;
        apply(type, envelope);
      });
    }
    // Any end or error: EventSource would retry with the spent token, so take over.
    es.onerror = () => {
      if (source !== es) return;
      scheduleReconnect(mine);
    };
  }

  async function start() {
    const mine = ++generation;
    stopStream();
    failures = 0;
    form.hidden = true;
    signOut.hidden = false;
    setState("loading", "Loading…");
    try {
      const board = await api("GET", "/api/orders/board");
      if (mine !== generation) return;
      loadBoard(board);
      boardEl.hidden = false;
      await connect(mine);
    } catch (error) {
      if (mine !== generation) return;
      if (error.status === 401 || error.status === 403 || error.status === 400) return showSignIn(error.message);
      setState("error", `Could not load the board: ${error.message}`);
      retryTimer = setTimeout(() => start(), 5000);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    sessionStorage.setItem(KEY_TOKEN, token);
    const tenant = $("tenant").value.trim();
    if (tenant) sessionStorage.setItem(KEY_TENANT, tenant);
    else sessionStorage.removeItem(KEY_TENANT);
    $("token").value = "";
    start();
  });

  signOut.addEventListener("click", () => {
    generation += 1;
    sessionStorage.removeItem(KEY_TOKEN);
    sessionStorage.removeItem(KEY_TENANT);
    showSignIn();
  });

  if (sessionStorage.getItem(KEY_TOKEN)) start();
  else showSignIn();
})();
