// colossus dashboard: one page over the JSON API (/api; its spec is /openapi.json). Plain JS, no build step.
// Every text from the server goes into the page through textContent (el() below), never as HTML.
"use strict";

const POLL_MS = 500;
const MW = 1e6, MWH = 3.6e9, DAY = 86400, GIB = 2 ** 30;

const state = {
  catalog: null,      // names the knobs accept
  scenario: null,     // GET /api/scenarios/{name}
  inputs: new Map(),  // "pools/<name>/num_gpus" -> the input that sets it
  selectedRuns: new Set(),
  polling: null,
  sweep: null,
  asked: {},          // per panel, the number of the latest request: see latest()
};

// --- small helpers -------------------------------------------------------------------------

const $ = (sel) => document.querySelector(sel);

// A panel shows the answer to the request made last: a slow answer to an earlier click must not
// replace it. latest("panel") numbers a request and returns a check that it is still the newest.
function latest(panel) {
  const n = (state.asked[panel] = (state.asked[panel] || 0) + 1);
  return () => state.asked[panel] === n;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

function num(value, digits = 3) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "\u2014";
  const abs = Math.abs(value);
  if (abs >= 1000 || Number.isInteger(value)) return value.toLocaleString("en-US", { maximumFractionDigits: 0 });
  const decimals = abs === 0 ? 0 : Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return value.toLocaleString("en-US", { maximumFractionDigits: Math.min(decimals, 6) });
}
const pct = (frac) => (frac === null || frac === undefined ? "\u2014" : `${(100 * frac).toFixed(1)}%`);
const mw = (w) => (w === null || w === undefined ? "\u2014" : `${num(w / MW)} MW`);
const days = (s) => (s === null || s === undefined ? "\u2014" : `${num(s / DAY)} days`);

class ApiError extends Error {
  constructor(status, body) {
    super(describe(body, status));
    this.status = status;
    this.body = body;
  }
}

function describe(body, status) {
  if (!body || body.detail === undefined) return `the server answered ${status}`;
  if (typeof body.detail === "string") return body.detail;
  return body.detail.map((d) => `${fieldName(d.loc)}: ${d.msg}`).join("\n");
}

function fieldName(loc) {
  const parts = (loc || []).filter((p) => p !== "body" && p !== "overrides");
  return parts.length ? parts.join(" \u203a ") : "request";
}

async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function showError(error) {
  const box = $("#form-error");
  box.hidden = !error;
  box.textContent = error ? (error.message || String(error)) : "";
  for (const input of state.inputs.values()) input.classList.remove("invalid");
  if (error && error.body && Array.isArray(error.body.detail)) {
    for (const d of error.body.detail) {
      const loc = (d.loc || []).filter((p) => p !== "body" && p !== "overrides");
      for (let n = loc.length; n > 0; n--) {   // the deepest input the location names
        const input = state.inputs.get(loc.slice(0, n).join("/"));
        if (input) { input.classList.add("invalid"); break; }
      }
    }
  }
}

// --- tabs ----------------------------------------------------------------------------------

function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  if (name === "runs") loadRuns();
  if (name === "sweeps") loadSweeps();
  window.dispatchEvent(new Event("resize"));  // plots drawn while hidden take their width now
}

// --- scenario and knobs --------------------------------------------------------------------

async function loadScenarios() {
  const [scenarios, catalog] = await Promise.all([api("GET", "/api/scenarios"), api("GET", "/api/catalog")]);
  state.catalog = catalog;
  const select = clear($("#scenario-select"));
  for (const s of scenarios) {
    select.append(el("option", { value: s.name, disabled: s.error ? true : null },
      s.error ? `${s.name} (invalid: see the file)` : s.name));
  }
  const first = scenarios.find((s) => s.default) || scenarios.find((s) => !s.error);
  if (first) { select.value = first.name; await loadScenario(first.name); }
}


async function loadScenario(name, { force = false } = {}) {
  // Choosing the scenario already shown keeps the knobs as edited, and only the latest request
  // may rebuild the form: a slow answer must not overwrite values typed after it was asked for.
  if (!force && state.scenarioName === name) return;
  const current = latest("scenario");
  showError(null);
  const scenario = await api("GET", `/api/scenarios/${encodeURIComponent(name)}`);
  if (!current()) return;
  state.scenario = scenario;
  state.scenarioName = name;
  $("#scenario-description").textContent = state.scenario.description;
  buildKnobs(state.scenario.knobs);
  $("#knobs-form").dataset.scenario = name;  // which scenario the form now edits
}

function numberInput(key, value, attrs = {}) {
  const input = el("input", { type: "number", value: value ?? "", ...attrs, "aria-label": key, dataset: { key } });
  state.inputs.set(key, input);
  return input;
}

function selectInput(key, value, options, extraLabel) {
  const select = el("select", { "aria-label": key, dataset: { key } });
  const names = options.includes(value) ? options : [value, ...options];
  for (const name of names) {
    const label = options.includes(name) ? name : `${name} (${extraLabel})`;
    select.append(el("option", { value: name, selected: name === value }, label));
  }
  state.inputs.set(key, select);
  return select;
}

function row(label, input, unit) {
  return el("div", { class: "row" }, el("span", {}, label), el("span", {}, input, unit ? el("span", { class: "unit" }, unit) : null));
}

function buildKnobs(k) {
  state.inputs.clear();
  const cat = state.catalog;
  const pools = clear($("#pools"));
  for (const p of k.pools) {
    pools.append(el("div", { class: "item" }, el("div", { class: "item-name" }, p.name),
      row("GPU type", selectInput(`pools/${p.name}/gpu`, p.gpu, cat.gpus, "as defined")),
      row("GPUs", numberInput(`pools/${p.name}/num_gpus`, p.num_gpus, { min: p.gpus_per_server, step: p.gpus_per_server }), "GPUs")));
  }
  const jobs = clear($("#jobs"));
  if (!k.jobs.length) jobs.append(el("p", { class: "muted small" }, "This scenario has no named jobs."));
  for (const j of k.jobs) {
    jobs.append(el("div", { class: "item" }, el("div", { class: "item-name" }, j.name, j.pool ? el("span", { class: "unit" }, ` on ${j.pool}`) : null),
      row("model", selectInput(`jobs/${j.name}/model`, j.model, cat.models, "defined in the scenario")),
      row("GPUs", numberInput(`jobs/${j.name}/num_gpus`, j.num_gpus, { min: 1, step: 8 }), "GPUs"),
      row("checkpoint every", numberInput(`jobs/${j.name}/checkpoint_interval_min`, j.checkpoint_interval_min, { min: 1, step: 1 }), "min"),
      j.moe ? row("MoE routing", selectInput(`jobs/${j.name}/expert_routing`, j.expert_routing, ["balanced", "dropless"], "as defined")) : null));
  }
  const supply = clear($("#supply"));
  supply.append(
    row("grid before contract", numberInput("grid_interim_mw", k.grid_interim_mw, { min: 0, step: 1 }), "MW"),
    row("grid contract", numberInput("grid_contract_mw", k.grid_contract_mw, { min: 0, step: 10 }), "MW"),
    row("contract starts on", numberInput("grid_contract_start_day", k.grid_contract_start_day, { min: 0, step: 1, placeholder: "not signed" }), "day"));
  const fleets = (title, have, names, key) => {
    const counts = new Map(have.map((f) => [f.unit, f.count]));
    for (const name of [...counts.keys(), ...names.filter((n) => !counts.has(n))]) {
      supply.append(row(`${title}: ${name}`, numberInput(`${key}/${name}`, counts.get(name) ?? 0, { min: 0, step: 1 }), "units"));
    }
  };
  fleets("generators", k.generators, cat.generators, "generators");
  fleets("batteries", k.batteries, cat.batteries, "batteries");
  clear($("#failures")).append(
    row("fleet", selectInput("fleet", k.fleet, cat.fleets, "as defined")),
    row("failure-rate multiplier", numberInput("failure_rate_scale", k.failure_rate_scale, { min: 0, step: 0.1 }), "x"));
  const sim = clear($("#simulation"));
  sim.append(row("simulated period", numberInput("days", k.days, { min: 0.1, max: 730, step: 1 }), "days"),
    row("seed", numberInput("seed", k.seed, { min: 0, step: 1 })));
  buildForecastKnobs(k);
}

// The forecast's own inputs: which job, by which day, how many draws (not overrides of the scenario).
function buildForecastKnobs(k) {
  const box = clear($("#forecast-knobs"));
  $("#forecast-button").disabled = !k.jobs.length;
  if (!k.jobs.length) { box.append(el("p", { class: "muted small" }, "No named job to forecast.")); return; }
  const job = el("select", { id: "forecast-job", "aria-label": "forecast job" }, k.jobs.map((j) => el("option", { value: j.name }, j.name)));
  box.append(row("job", job),
    row("finish by", el("input", { type: "number", id: "forecast-by", "aria-label": "forecast by day", min: 0.1, max: 730, step: 1, placeholder: "e.g. 40" }), "day"),
    row("draws", el("input", { type: "number", id: "forecast-runs", "aria-label": "forecast draws", value: 32, min: 1, max: 256, step: 1 })));
}

// Only the knobs that differ from the scenario are sent: the request (and the stored run) says what changed.
function collectOverrides() {
  const k = state.scenario.knobs;
  const ov = {};
  const changed = (input, before) => {
    const raw = input.value.trim();
    if (input.tagName === "SELECT") return raw !== before ? raw : undefined;
    // An emptied field: "not signed" for the contract day; for any other knob let the server name the problem.
    if (raw === "") return before === null ? undefined : (input.dataset.key === "grid_contract_start_day" ? null : "");
    const value = Number(raw);
    return value !== before ? value : undefined;
  };
  const put = (group, name, field, value) => {
    if (value === undefined) return;
    ov[group] = ov[group] || {};
    if (field === null) { ov[group][name] = value; return; }
    ov[group][name] = ov[group][name] || {};
    ov[group][name][field] = value;
  };
  for (const p of k.pools) {
    put("pools", p.name, "gpu", changed(state.inputs.get(`pools/${p.name}/gpu`), p.gpu));
    put("pools", p.name, "num_gpus", changed(state.inputs.get(`pools/${p.name}/num_gpus`), p.num_gpus));
  }
  for (const j of k.jobs) {
    put("jobs", j.name, "model", changed(state.inputs.get(`jobs/${j.name}/model`), j.model));
    put("jobs", j.name, "num_gpus", changed(state.inputs.get(`jobs/${j.name}/num_gpus`), j.num_gpus));
    put("jobs", j.name, "checkpoint_interval_min",
      changed(state.inputs.get(`jobs/${j.name}/checkpoint_interval_min`), j.checkpoint_interval_min));
    if (j.moe) put("jobs", j.name, "expert_routing", changed(state.inputs.get(`jobs/${j.name}/expert_routing`), j.expert_routing));
  }
  for (const key of ["grid_interim_mw", "grid_contract_mw", "grid_contract_start_day", "fleet", "failure_rate_scale",
    "days", "seed"]) {
    const value = changed(state.inputs.get(key), k[key]);
    if (value !== undefined) ov[key] = value;
  }
  for (const group of ["generators", "batteries"]) {
    const have = new Map(k[group].map((f) => [f.unit, f.count]));
    for (const [key, input] of state.inputs) {
      if (!key.startsWith(`${group}/`)) continue;
      const unit = key.slice(group.length + 1);
      put(group, unit, null, changed(input, have.has(unit) ? have.get(unit) : 0));
    }
  }
  return ov;
}

// --- quick analyses ------------------------------------------------------------------------

function kvTable(rows) {
  return el("table", { class: "grid" }, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "n" }, v)))));
}

function showQuick(title, content, notes) {
  const box = clear($("#quick"));
  box.hidden = false;
  box.append(el("h2", {}, title, el("button", { type: "button", class: "link", onclick: () => { box.hidden = true; } }, "close")));
  if (notes && notes.length) box.append(el("ul", { class: "notes" }, notes.map((n) => el("li", {}, n))));
  box.append(content);
}

function renderEstimate(doc) {
  const table = el("table", { class: "grid" });
  table.append(el("tr", {}, ["job", "model", "layout", "step", "MFU", "tokens/s per GPU", "memory per GPU", "time to train (80% range)"]
    .map((h, i) => el("th", { class: i > 2 ? "n" : null }, h))));
  for (const j of doc.jobs) {
    if (j.error) { table.append(el("tr", {}, el("td", {}, j.job), el("td", {}, j.model), el("td", { colspan: 6, class: "error" }, j.error))); continue; }
    const e = j.estimate;
    table.append(el("tr", {}, el("td", {}, j.job), el("td", {}, j.model), el("td", {}, `${j.layout}${j.planned ? " (planner)" : ""}`),
      el("td", { class: "n" }, `${num(e.step_time_s)} s`), el("td", { class: "n" }, pct(e.mfu)),
      el("td", { class: "n" }, num(e.tokens_per_s_per_gpu)),
      el("td", { class: "n" }, `${num(e.memory_per_gpu_bytes / GIB)} of ${num(e.hbm_bytes / GIB)} GiB${e.fits ? "" : " (does not fit)"}`),
      el("td", { class: "n", title: "range: the model's error on published runs of families it was not fitted to" },
        j.short_time_to_train_s == null ? days(j.time_to_train_s)
          : `${days(j.time_to_train_s)} (${num(j.short_time_to_train_s / DAY)}\u2013${num(j.long_time_to_train_s / DAY)})`)));
  }
  return el("div", { class: "wide" }, table);
}

function renderPower(doc) {
  const d = doc.demand, s = doc.supply, f = doc.deficit, env = doc.environment.per_day, sw = doc.swings;
  const cost = doc.cost, disp = doc.dispatch;
  const mwps = (w) => (w === null || w === undefined ? "\u2014" : `${num(w / MW)} MW/s`);
  const usd = (x) => (x === null || x === undefined ? "\u2014" : `$${num(x)}`);
  const fleets = disp.fleets.map((x) => [`${x.name} (${x.emission_control})`, `${num(x.units_running)} of ${num(x.count)} on, ${mw(x.output_w)}`]);
  return el("div", { class: "tables" },
    el("div", {}, el("h3", {}, "Demand"), kvTable([
      ["GPUs at TDP", mw(d.gpus_nameplate_w)], ["GPUs while training", mw(d.gpus_w)],
      ["site while training", mw(d.site_w)], ["site at nameplate", mw(d.site_nameplate_w)], ["site idle", mw(d.site_idle_w)]])),
    el("div", {}, el("h3", {}, "Supply"), kvTable([
      ["firm supply", mw(s.firm_w)], ["N-1 (largest unit down)", mw(s.n_minus_1_w)], ["expected (availability)", mw(s.expected_w)],
      ["battery power", mw(s.battery_power_w)], ["battery energy", `${num(s.battery_energy_j / MWH)} MWh`]])),
    el("div", {}, el("h3", {}, `Deficit response (job ${f.inputs && f.inputs.job ? f.inputs.job.job : ""})`), kvTable([
      ["job needs (site)", mw(f.job_demand_w)], ["supply", mw(f.supply_w)], ["base load before the job", mw(f.base_load_w)],
      ["left for the job", mw(Math.max(f.supply_for_job_w, 0))], ["strategy", f.strategy],
      ["GPUs running", num(f.num_gpus_running)], ["GPU power cap", `${num(f.gpu_cap_w)} W`],
      ["throughput kept", pct(f.throughput_kept_frac)]])),
    el("div", {}, el("h3", {}, "Dispatch"), kvTable([
      ["merit order", disp.merit_order.join(" > ")], ["grid", mw(disp.grid_w)], ...fleets,
      ["N-1 reserve needed / held", `${mw(disp.reserve.required_w)} / ${mw(disp.reserve.available_w)}`]])),
    el("div", {}, el("h3", {}, "Swings"), kvTable([
      ["step swing", `${mw(sw.step_swing_w)} every ${num(sw.step_time_s)} s`], ["dominant", `${num(sw.dominant_hz)} Hz`],
      ["in 0.2-3 Hz", pct(sw.band_fraction)], ["peak ramp seen by the grid", mwps(sw.grid_peak_ramp_w_per_s)],
      ["by the generators", mwps(sw.generator_peak_ramp_w_per_s)], ["power floor burns", mw(sw.floor_w)]])),
    el("div", {}, el("h3", {}, "Per day"), kvTable([
      ["energy", `${num(env.energy_j / MWH)} MWh`], ["CO\u2082", `${num(env.co2_kg / 1000)} t`], ["NO\u2093", `${num(env.nox_kg)} kg`],
      ["gas", `${num(env.gas_m3)} m\u00b3`], ["water", `${num(env.water_m3)} m\u00b3`],
      ["cost", usd(cost.per_day.usd_total)], ["per GPU-hour", usd(cost.per_day.usd_per_gpu_hour)],
      ["per million tokens (run)", usd(cost.run.usd_per_million_tokens)]])));
}

function renderReliability(doc) {
  const c = doc.checkpoint, g = doc.goodput, sp = doc.spares;
  const minutes = (s) => (s === null || s === undefined ? "\u2014" : `${num(s / 60)} min`);
  return kvTable([
    ["job", `${doc.job} on ${num(doc.num_gpus)} GPUs`], ["interruptions per day", num(doc.interruptions_per_s * 86400)],
    ["mean time to interruption", doc.mtti_s ? `${num(doc.mtti_s / 3600)} h` : "\u2014"],
    ["checkpoint size", `${num(c.size_bytes / 1e12)} TB`], ["restart", minutes(c.restart_s)],
    ["interval used / optimal", `${minutes(c.interval_s)} / ${minutes(c.optimal_interval_s)}`],
    ["effective training time", pct(g.ettr)], ["failure-free training", days(g.work_s)],
    ["expected finish", days(g.expected_finish_s)], ["hot spare servers recommended", num(sp.recommended)],
    ["throughput from", doc.throughput.source]]);
}

async function quick(kind) {
  if (!state.scenario) return;
  showError(null);
  const button = $(`#${kind}-button`);
  button.disabled = true;
  const current = latest("quick");
  try {
    const doc = await api("POST", `/api/scenarios/${encodeURIComponent(state.scenario.name)}/${kind}`, { overrides: collectOverrides() });
    if (!current()) return;  // another quick check was asked for meanwhile
    const render = { estimate: renderEstimate, power: renderPower, reliability: renderReliability }[kind];
    const titles = { estimate: "Performance estimate", power: "Power check", reliability: "Reliability" };
    showQuick(`${titles[kind]}: ${state.scenario.name}`, render(doc.result), doc.notes);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// --- simulation --------------------------------------------------------------------------

function setProgress(frac, text) {
  $("#job-status").hidden = false;
  $("#progress-bar").style.width = `${Math.round(100 * frac)}%`;
  $(".progress").setAttribute("aria-valuenow", String(Math.round(100 * frac)));
  $("#job-text").textContent = text;
}

async function runSimulation(event) {
  event.preventDefault();
  if (!state.scenario || state.polling) return;
  showError(null);
  const button = $("#run-button");
  button.disabled = true;
  try {
    const job = await api("POST", `/api/scenarios/${encodeURIComponent(state.scenario.name)}/simulate`, { overrides: collectOverrides() });
    setProgress(0, `queued: ${job.phase}`);
    await pollJob(job.id);
  } catch (error) {
    showError(error);
    $("#job-status").hidden = true;
  } finally {
    button.disabled = false;
    state.polling = null;
  }
}

async function pollJob(id) {
  state.polling = id;
  const started = Date.now();
  for (;;) {
    const job = await api("GET", `/api/jobs/${id}`);
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    const forecast = job.kind === "forecast";
    const day = (job.progress_frac * job.days).toFixed(1);
    if (job.status === "done") {
      if (forecast) {
        setProgress(1, `done in ${elapsed} s: ${job.summary.runs} draws (run ${job.run_id})`);
        showForecast(job.summary);
      } else {
        setProgress(1, `done in ${elapsed} s: ${job.days} days simulated (run ${job.run_id})`);
        await showRun(job.run_id);
      }
      return;
    }
    if (job.status === "failed" || job.status === "cancelled") {
      setProgress(job.progress_frac, `${job.status}`);
      throw new Error(job.message || job.phase);
    }
    const where = forecast ? `${Math.round(100 * job.progress_frac)}% of the draws` : `day ${day} of ${job.days}`;
    const what = job.status === "queued" ? "waiting for a free worker" : `${job.phase}: ${where}`;
    setProgress(job.progress_frac, `${what} (${elapsed} s)`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// --- forecast ------------------------------------------------------------------------------

async function runForecast() {
  if (!state.scenario || state.polling) return;
  showError(null);
  const button = $("#forecast-button");
  button.disabled = true;
  try {
    const by = $("#forecast-by").value.trim(), runs = $("#forecast-runs").value.trim();
    const body = { overrides: collectOverrides(), job: $("#forecast-job").value,
      by_day: by === "" ? null : Number(by), runs: runs === "" ? null : Number(runs) };
    const job = await api("POST", `/api/scenarios/${encodeURIComponent(state.scenario.name)}/forecast`, body);
    setProgress(0, `queued: ${job.phase}`);
    await pollJob(job.id);
  } catch (error) {
    showError(error);
    $("#job-status").hidden = true;
  } finally {
    button.disabled = false;
    state.polling = null;
  }
}

function dayText(d) { return d === null || d === undefined ? "beyond the period" : `day ${num(d)}`; }

function showForecast(doc) {
  latest("result");  // a run still loading must not replace the forecast shown now
  $("#placeholder").hidden = true;
  $("#run-view").hidden = true;
  $("#forecast-view").hidden = false;
  clear($("#forecast-title")).append(el("h2", {}, `Forecast: ${doc.scenario}, ${doc.job} by day ${num(doc.by_day)}`),
    el("p", { class: "muted small" }, `${doc.runs} draws (seed ${doc.seed}), each simulated to ${num(doc.horizon_factor)} x its own expected finish;`
      + ` ${pct(doc.finished_frac)} finished within it. Leaves out: ${doc.scope.leaves_out.join("; ")}.`));
  const cards = [[`P(finish by day ${num(doc.by_day)})`, pct(doc.p_finish_by)], ["finish day P10", dayText(doc.finish_day_p10)],
    ["finish day P50", dayText(doc.finish_day_p50)], ["finish day P90", dayText(doc.finish_day_p90)],
    ["P50's 90% band (Monte Carlo)", `${dayText(doc.finish_day_p50_band[0])} to ${dayText(doc.finish_day_p50_band[1])}`],
    [`expected tokens by day ${num(doc.by_day)}`, `${num(doc.expected_tokens_by / 1e12)} T of ${num(doc.train_tokens / 1e12)} T`]];
  clear($("#forecast-cards")).append(...cards.map(([k, v]) => el("div", { class: "card" }, el("div", { class: "v" }, v), el("div", { class: "k" }, k))));
  const table = el("table", { class: "grid", id: "table-forecast-drivers" },
    el("tr", {}, ["source of doubt", "P50 at its P10", "P50 at its P90", "swing", "what moves it"].map((h) => el("th", {}, h))),
    doc.drivers.map((d) => el("tr", {}, el("td", {}, d.label), el("td", { class: "n" }, dayText(d.p50_low_day)),
      el("td", { class: "n" }, dayText(d.p50_high_day)), el("td", { class: "n" }, d.swing_days === null ? "\u2014"
        : `${num(d.swing_days)} \u00b1 ${num(d.noise_days)} days${d.noise_days !== null && d.swing_days < 2 * d.noise_days ? " (chance)" : ""}`),
      el("td", {}, d.lever))));
  clear($("#forecast-drivers")).append(el("h3", {}, "What drives the risk"), doc.drivers.length ? table
    : el("p", { class: "muted small" }, "No source of doubt applies: only chance (when failures strike) spreads the answer."));
  const charts = clear($("#forecast-charts"));
  for (const [name, fig] of Object.entries(doc.figures)) {
    const div = el("div", { class: "chart", id: `fig-forecast-${name}` });
    charts.append(el("figure", {}, div, el("figcaption", {}, doc.captions[name] || "")));
    Plotly.newPlot(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
  }
}

// --- one run -------------------------------------------------------------------------------

function overridesText(ov) {
  if (!ov || !Object.keys(ov).length) return "as the scenario file";
  const parts = [];
  const walk = (prefix, value) => {
    if (value && typeof value === "object") { for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v); return; }
    parts.push(`${prefix}=${value === null ? "null" : value}`);
  };
  walk("", ov);
  return parts.join(", ");
}

function tableOf(t) {
  const head = el("tr", {}, t.header.map((h, i) => el("th", { class: t.numeric[i] ? "n" : null }, h)));
  const body = t.rows.length ? t.rows.map((r) => el("tr", {}, r.map((v, i) => el("td", { class: t.numeric[i] ? "n" : null }, v))))
    : [el("tr", {}, el("td", { colspan: t.header.length }, "none"))];
  return el("div", { class: "wide", id: `table-${t.name}` }, el("h3", {}, t.title), el("table", { class: "grid" }, head, body));
}

async function showRun(runId) {
  const current = latest("result");
  const [run, figs] = await Promise.all([
    api("GET", `/api/runs/${encodeURIComponent(runId)}`),
    api("GET", `/api/runs/${encodeURIComponent(runId)}/figures?max_points=1500`),
  ]);
  if (!current()) return;  // another run (or a forecast) was asked for meanwhile
  $("#placeholder").hidden = true;
  $("#forecast-view").hidden = true;
  $("#run-view").hidden = false;
  const s = run.summary;
  clear($("#run-title")).append(
    el("h2", {}, `${s.scenario}: ${num(s.days)} days, seed ${s.seed}`),
    el("div", { class: "muted small" }, `run ${run.id}; knobs: ${overridesText(run.request && run.request.overrides)}. `,
      run.has_report ? el("a", { href: `/api/runs/${encodeURIComponent(run.id)}/report`, target: "_blank", rel: "noopener" }, "Open the full report") : null));
  const cards = clear($("#headline"));
  for (const [label, value] of run.headline) cards.append(el("div", { class: "card" }, el("div", { class: "v" }, value), el("div", { class: "k" }, label)));
  const charts = clear($("#charts"));
  for (const name of figs.names) {
    const div = el("div", { class: "chart", id: `fig-${name}` });
    charts.append(el("figure", {}, div, el("figcaption", {}, figs.captions[name] || "")));
    const fig = figs.figures[name];
    Plotly.newPlot(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
  }
  const tables = clear($("#tables"));
  for (const t of run.tables) tables.append(tableOf(t));
}

// --- stored runs ---------------------------------------------------------------------------

async function loadRuns() {
  const current = latest("runs");
  const runs = await api("GET", "/api/runs");
  if (!current()) return;
  const table = clear($("#runs-table"));
  table.append(el("tr", {}, ["", "run", "scenario", "days", "seed", "knobs changed", "written", ""].map((h) => el("th", {}, h))));
  if (!runs.length) table.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No stored runs yet: run a simulation.")));
  for (const r of runs) {
    const box = el("input", { type: "checkbox", "aria-label": `select ${r.id}`, checked: state.selectedRuns.has(r.id) });
    box.addEventListener("change", () => {
      if (box.checked) state.selectedRuns.add(r.id); else state.selectedRuns.delete(r.id);
      updateCompareButton();
    });
    const open = el("button", { type: "button", onclick: async () => { showView("scenario"); await showRun(r.id); } }, "Open");
    table.append(el("tr", { dataset: { run: r.id } }, el("td", {}, box), el("td", {}, r.id), el("td", {}, r.scenario ?? "\u2014"),
      el("td", { class: "n" }, num(r.days)), el("td", { class: "n" }, r.seed ?? "\u2014"),
      el("td", { class: "small" }, r.overrides ? overridesText(r.overrides) : "(CLI run)"),
      el("td", {}, new Date(r.created_s * 1000).toLocaleString()),
      el("td", {}, open, " ", r.has_report ? el("a", { href: `/api/runs/${encodeURIComponent(r.id)}/report`, target: "_blank", rel: "noopener" }, "report") : null)));
  }
  const known = new Set(runs.map((r) => r.id));
  for (const id of [...state.selectedRuns]) if (!known.has(id)) state.selectedRuns.delete(id);
  updateCompareButton();
}

function updateCompareButton() {
  const n = state.selectedRuns.size;
  const button = $("#compare-button");
  button.disabled = n < 2;
  button.textContent = n ? `Compare selected (${n})` : "Compare selected";
}

// --- comparison ----------------------------------------------------------------------------

async function compareSelected() {
  const ids = [...state.selectedRuns];
  showView("compare");
  const query = ids.map((id) => `run=${encodeURIComponent(id)}`).join("&");
  const cmp = await api("GET", `/api/compare?${query}`);
  $("#compare-empty").hidden = true;
  $("#compare-body").hidden = false;
  const table = clear($("#compare-table"));
  table.append(el("tr", {}, el("th", {}, "quantity"), cmp.runs.map((r) => el("th", { class: "n" }, r.id))));
  table.append(el("tr", {}, el("td", {}, "knobs changed"), cmp.runs.map((r) => el("td", { class: "small" }, overridesText(r.overrides)))));
  for (const m of cmp.metrics) {
    const values = cmp.runs.map((r) => r.values[m.key]);
    if (values.every((v) => v === null || v === undefined)) continue;
    const base = values[0];
    const differs = values.some((v) => v !== base && !(base && v !== null && Math.abs((v - base) / base) < 0.0005));
    const cells = values.map((v, i) => {
      const shown = v === null || v === undefined ? "\u2014" : num(v * m.display_scale);
      const rel = i > 0 && base && v !== null && v !== undefined ? (v - base) / Math.abs(base) : 0;
      const delta = Math.abs(rel) >= 0.0005 ? `${rel > 0 ? "+" : ""}${num(100 * rel, 2)}%` : null;
      return el("td", { class: "n" }, shown, delta ? el("span", { class: "delta" }, `(${delta})`) : null);
    });
    table.append(el("tr", { class: differs ? "diff" : null }, el("td", {}, m.label, m.display_unit ? el("span", { class: "unit" }, `(${m.display_unit})`) : null), cells));
  }
  const series = await Promise.all(cmp.runs.map((r) => api("GET", `/api/runs/${encodeURIComponent(r.id)}/timeseries?max_points=800`)));
  drawOverlays(cmp.runs, series);
}

function drawOverlays(runs, series) {
  const charts = clear($("#compare-charts"));
  const overlay = (id, title, yTitle, traces) => {
    const div = el("div", { class: "chart", id });
    charts.append(el("figure", {}, div, el("figcaption", {}, title)));
    Plotly.newPlot(div, traces, {
      title: { text: title }, height: 360, margin: { l: 60, r: 20, t: 40, b: 45 }, hovermode: "x unified",
      xaxis: { title: { text: "day" } }, yaxis: { title: { text: yTitle } }, legend: { orientation: "h", y: -0.2 },
    }, { responsive: true, displaylogo: false });
  };
  const x = (s) => s.columns.time_s.map((t) => t / DAY);
  overlay("cmp-demand", "Site power served, each run", "MW",
    runs.map((r, i) => ({ x: x(series[i]), y: series[i].columns.demand_w.map((v) => (v === null ? null : v / MW)), name: r.id, mode: "lines" })));
  overlay("cmp-busy", "GPUs busy, each run", "GPUs",
    runs.map((r, i) => ({ x: x(series[i]), y: series[i].columns.gpus_busy, name: r.id, mode: "lines" })));
  if (series.every((s) => s.columns.gpus_powered_off !== undefined)) {
    overlay("cmp-off", "GPUs powered off for lack of power, each run", "GPUs",
      runs.map((r, i) => ({ x: x(series[i]), y: series[i].columns.gpus_powered_off, name: r.id, mode: "lines" })));
  }
  const tokenTraces = [];
  runs.forEach((r, i) => {
    for (const [name, values] of Object.entries(series[i].columns)) {
      if (!name.startsWith("tokens:")) continue;
      tokenTraces.push({ x: x(series[i]), y: values.map((v) => (v === null ? null : v / 1e9)), name: `${r.id}: ${name.slice(7)}`, mode: "lines" });
    }
  });
  if (tokenTraces.length) overlay("cmp-tokens", "Tokens trained by each named job", "billion tokens", tokenTraces);
}

// --- sweeps --------------------------------------------------------------------------------

async function loadSweeps() {
  const current = latest("sweeps");
  const sweeps = await api("GET", "/api/sweeps");
  if (!current()) return;
  const table = clear($("#sweeps-table"));
  table.append(el("tr", {}, ["sweep", "runs", "scenario", "kind", ""].map((h) => el("th", {}, h))));
  if (!sweeps.length) table.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No sweeps in the runs folder.")));
  for (const s of sweeps) {
    const open = el("button", { type: "button", disabled: s.error ? true : null, onclick: () => showSweep(s) }, "Open");
    table.append(el("tr", {}, el("td", {}, s.id), el("td", { class: "n" }, s.rows ?? "\u2014"), el("td", {}, s.scenarios.join(", ")),
      el("td", {}, s.error ? el("span", { class: "error" }, s.error) : s.kinds.join(", ")), el("td", {}, open)));
  }
}

async function showSweep(sweep) {
  const current = latest("sweep");
  const rows = await api("GET", `/api/sweeps/${encodeURIComponent(sweep.id)}?limit=5000`);
  if (!current()) return;  // the user opened another sweep while this one loaded
  state.sweep = rows;
  $("#sweep-body").hidden = false;
  $("#sweep-title").textContent = sweep.id;
  const numeric = rows.columns.filter((c, i) => /INT|DOUBLE|FLOAT|DECIMAL/.test(rows.types[i]) && c !== "wall_s");
  const column = (name) => rows.rows.map((r) => r[rows.columns.indexOf(name)]);
  const varies = (name) => new Set(column(name)).size > 1;
  // The varied fields are stored under their full scenario path; outputs are named "<job>.<key>" or plainly.
  const roots = ["cluster.", "power.", "jobs[", "simulation.", "storage."];
  const varied = numeric.filter((c) => roots.some((r) => c.startsWith(r)) && varies(c));
  const keys = new Set(["seed", "days", "wall_s"]);
  const known = (c) => column(c).some((v) => v !== null && v !== undefined);
  // The main output as colossus sweep plots it: finish day if every run finished, else progress; tokens/s for
  // estimates. A column with no value at all would draw an empty plot: the first output with values stands in.
  const main = numeric.find((c) => c.endsWith(".finished_at_days") && column(c).every((v) => v !== null))
    || [numeric.find((c) => c.endsWith(".progress_frac")), numeric.find((c) => c.endsWith(".tokens_per_s")),
      numeric.find((c) => c === "deficit_hours")].find((c) => c && known(c))
    || numeric.find((c) => !keys.has(c) && !roots.some((r) => c.startsWith(r)) && known(c));
  const fill = (select, names, chosen) => {
    clear(select);
    for (const n of names) select.append(el("option", { value: n, selected: n === chosen }, n));
  };
  fill($("#sweep-x"), numeric, varied[0] || numeric.find((c) => roots.some((r) => c.startsWith(r))) || numeric[0]);
  fill($("#sweep-y"), numeric, main || numeric[numeric.length - 1]);
  const links = clear($("#sweep-plots"));
  for (const kind of sweep.plots) links.append(el("a", { href: `/api/sweeps/${encodeURIComponent(sweep.id)}/plots/${encodeURIComponent(kind)}`, target: "_blank", rel: "noopener" }, `${kind} plot`), " ");
  drawSweep();
  const table = clear($("#sweep-rows"));
  table.append(el("tr", {}, rows.columns.map((c) => el("th", {}, c))));
  const cell = (name, v) => {
    if (name === "content_hash" && typeof v === "string") return el("td", { title: v }, v.slice(0, 12));
    if (typeof v !== "number") return el("td", {}, v ?? "\u2014");
    return el("td", { class: "n" }, name === "seed" ? String(v) : num(v));
  };
  for (const r of rows.rows.slice(0, 200)) table.append(el("tr", {}, r.map((v, i) => cell(rows.columns[i], v))));
  if (rows.total > 200) table.append(el("tr", {}, el("td", { colspan: rows.columns.length, class: "muted" }, `${rows.total - 200} more rows: query the DuckDB file`)));
}

function drawSweep() {
  const rows = state.sweep;
  if (!rows) return;
  const xi = rows.columns.indexOf($("#sweep-x").value), yi = rows.columns.indexOf($("#sweep-y").value);
  if (xi < 0 || yi < 0) return;
  Plotly.newPlot($("#sweep-chart"), [{ x: rows.rows.map((r) => r[xi]), y: rows.rows.map((r) => r[yi]), mode: "markers", type: "scatter", name: "runs" }], {
    height: 380, margin: { l: 70, r: 20, t: 30, b: 50 },
    xaxis: { title: { text: rows.columns[xi] } }, yaxis: { title: { text: rows.columns[yi] } },
  }, { responsive: true, displaylogo: false });
}

// --- wiring --------------------------------------------------------------------------------

function guard(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((error) => showError(error));
}

document.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", guard(() => showView(tab.dataset.view)));
  $("#scenario-select").addEventListener("change", guard((e) => loadScenario(e.target.value)));
  $("#knobs-form").addEventListener("submit", guard(runSimulation));
  $("#estimate-button").addEventListener("click", guard(() => quick("estimate")));
  $("#power-button").addEventListener("click", guard(() => quick("power")));
  $("#reliability-button").addEventListener("click", guard(() => quick("reliability")));
  $("#forecast-button").addEventListener("click", guard(runForecast));
  $("#reset-button").addEventListener("click", guard(() => { showError(null); buildKnobs(state.scenario.knobs); }));
  $("#compare-button").addEventListener("click", guard(compareSelected));
  $("#runs-refresh").addEventListener("click", guard(loadRuns));
  $("#sweep-x").addEventListener("change", drawSweep);
  $("#sweep-y").addEventListener("change", drawSweep);
  guard(loadScenarios)();
});
