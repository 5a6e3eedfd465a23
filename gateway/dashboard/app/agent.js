// The travel agent's screens: home figures, the catalogue, a package and its booking form,
// my bookings, documents, profile.
import { request } from "./api.js";
import { ChangePassword } from "./accounts.js";
import {
  Badge, Empty, ErrorBox, Field, Loaded, Notice, Pager, StatusTabs, Submit, formValues, go, html,
  money, useAction, useAsync, useRowActions,
} from "./ui.js";
import { useState } from "../vendor/htm-preact-standalone.module.js";

const STATUSES = ["pending", "confirmed", "declined", "cancelled"];

function useProfile() {
  return useAsync(() => request("GET", "/api/agents/me"), []);
}

function PendingNotice({ profile }) {
  if (!profile || profile.status === "active") return null;
  return html`<div class="notice" role="status">
    Your account is <b>${profile.status}</b>: ${profile.status === "pending"
      ? "an administrator approves new agencies (upload your licence under Documents); until then you can browse but not book."
      : "you cannot book; contact the platform's administrators."}
  </div>`;
}

export function Home() {
  const me = useProfile();
  const summary = useAsync(() => request("GET", "/api/bookings/summary"), []);
  return html`<section>
    <h1>Welcome${me.data ? `, ${me.data.profile.agency_name}` : ""}</h1>
    <${PendingNotice} profile=${me.data?.profile} />
    <${Loaded} state=${summary}>${(figures) => html`
      <div class="figures">
        ${STATUSES.map((status) => html`<div class="figure" data-figure=${status}>
          <b>${figures.counts[status]}</b><span>${status} bookings</span></div>`)}
      </div>
      <h2>Confirmed commission by departure month</h2>
      ${figures.commission_by_month.length === 0
        ? html`<${Empty}>No confirmed bookings yet.</${Empty}>`
        : html`<table><thead><tr><th>Month</th><th>Bookings</th><th>Commission</th></tr></thead>
            <tbody>${figures.commission_by_month.map((m) => html`<tr>
              <td data-label="Month">${m.month}</td><td data-label="Bookings">${m.bookings}</td>
              <td data-label="Commission">${money(m.commission, m.currency)}</td></tr>`)}</tbody></table>`}
    `}</${Loaded}>
    <div class="actions"><a class="button primary" href="#/catalogue">Browse packages</a>
      <a class="button" href="#/bookings">My bookings</a></div>
  </section>`;
}

const FILTERS = ["city", "country", "min_price", "max_price", "min_nights", "max_nights", "travel_date", "sort"];
const PAGE_SIZE = 12;
const SORTS = [["newest", "Newest"], ["price", "Price"], ["duration", "Duration"], ["title", "Title"]];

export function Catalogue({ params }) {
  const query = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || ""]));
  const offset = Number(params.get("offset") || 0);
  const key = params.toString();
  const packages = useAsync(() => request("GET", "/api/packages",
    { query: { ...query, country: query.country.toUpperCase(), limit: PAGE_SIZE, offset } }), [key]);
  const search = (values) => {
    const next = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== ""));
    go(`/catalogue?${next}`);
  };
  const toOffset = (value) => {
    const next = new URLSearchParams(params);
    next.set("offset", value);
    go(`/catalogue?${next}`);
  };
  // Uncontrolled fields (defaultValue): a list arriving while someone types must not reset
  // what they typed; the form is new for each search (key).
  return html`<section>
    <h1>Packages</h1>
    <form class="card" key=${key} onSubmit=${(e) => search(formValues(e))} aria-label="filters">
      <div class="row">
        <${Field} label="City" name="city" defaultValue=${query.city} />
        <${Field} label="Country" name="country" defaultValue=${query.country} maxlength="2" placeholder="PT" />
        <${Field} label="Travel date" name="travel_date" type="date" defaultValue=${query.travel_date} />
      </div>
      <div class="row">
        <${Field} label="Min price" name="min_price" inputmode="decimal" defaultValue=${query.min_price} />
        <${Field} label="Max price" name="max_price" inputmode="decimal" defaultValue=${query.max_price} />
        <${Field} label="Min nights" name="min_nights" type="number" min="0" defaultValue=${query.min_nights} />
        <${Field} label="Max nights" name="max_nights" type="number" min="0" defaultValue=${query.max_nights} />
        <label>Sort<select name="sort">${SORTS.map(([value, label]) => html`
          <option value=${value} selected=${(query.sort || "newest") === value}>${label}</option>`)}
        </select></label>
      </div>
      <div class="actions"><button class="primary" type="submit">Search</button>
        <a class="button" href="#/catalogue">Clear</a></div>
    </form>
    <${Loaded} state=${packages}>${(page) => html`
      <p class="muted">${page.total} package${page.total === 1 ? "" : "s"}</p>
      ${page.data.length === 0 ? html`<${Empty}>No package matches these filters.</${Empty}>` : html`
        <div class="grid">${page.data.map((p) => html`<article class="card" data-package=${p.id}>
          <h2><a href=${`#/packages/${p.id}`}>${p.title}</a></h2>
          <p class="muted">${p.stops.map((s) => s.city).join(" → ")} · ${p.total_nights} nights</p>
          <p class="price">${money(p.price_per_traveller, p.currency)} <small class="muted">per traveller</small></p>
        </article>`)}</div>`}
      <${Pager} page=${page} onOffset=${toOffset} />
    `}</${Loaded}>
  </section>`;
}

export function PackageView({ id }) {
  const pkg = useAsync(() => request("GET", `/api/packages/${id}`), [id]);
  return html`<section>
    <p><a href="#/catalogue">← Packages</a></p>
    <${Loaded} state=${pkg}>${(p) => html`
      <h1>${p.title}</h1>
      <div class="card">
        <p>${p.description}</p>
        <p class="price">${money(p.price_per_traveller, p.currency)} <small class="muted">per traveller</small></p>
        <p class="muted">${p.total_nights} nights · ${p.min_travellers || 1}–${p.max_travellers || "?"} travellers ·
          departures ${p.first_departure_date} to ${p.last_departure_date}</p>
        <h2>Stops</h2>
        <ol>${p.stops.map((s) => html`<li>${s.city}, ${s.country}: ${s.nights} nights at ${s.hotel_name} (${"★".repeat(s.star_rating)})</li>`)}</ol>
        ${p.addons.length > 0 && html`<h2>Add-ons</h2><ul>${p.addons.map((a) =>
          html`<li>${a.name}: ${money(a.price, p.currency)} ${a.pricing === "per_traveller" ? "per traveller" : "per booking"}</li>`)}</ul>`}
        ${p.exclusions.length > 0 && html`<h2>Not included</h2><ul>${p.exclusions.map((x) => html`<li>${x.text}</li>`)}</ul>`}
      </div>
      <${BookingForm} pkg=${p} />
    `}</${Loaded}>
  </section>`;
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function bookingBody(pkg, form) {
  const data = new FormData(form);
  const names = data.getAll("traveller_name");
  const travellers = names.map((name, i) => ({ full_name: name.trim(),
    ...(i === 0 ? { email: String(data.get("lead_email") || "").trim() || null } : {}) }));
  return { package_id: pkg.id, departure_date: data.get("departure_date"),
           travellers, addon_ids: data.getAll("addon_id") };
}

function BookingForm({ pkg }) {
  const [count, setCount] = useState(pkg.min_travellers || 1);
  const [quote, setQuote] = useState(null);
  // One key per booking the agent means to make: a double click or a retry after a lost
  // answer sends the same key, and booking-service books once.
  const [key, setKey] = useState(newKey);
  const [booked, setBooked] = useState(null);
  const [preview, previewing, previewError] = useAction(async (form) => {
    setQuote(await request("POST", "/api/bookings/quote", { body: bookingBody(pkg, form) }));
  });
  const [book, booking, bookError] = useAction(async (form) => {
    const made = await request("POST", "/api/bookings", { body: bookingBody(pkg, form),
                                                           headers: { "Idempotency-Key": key } });
    setBooked(made);
    setKey(newKey());
  });
  if (booked) {
    return html`<div class="card"><${Notice}>Booked: ${money(booked.total_price, booked.currency)}
      (your commission ${money(booked.commission_amount, booked.currency)}), status ${booked.status}.</${Notice}>
      <a class="button primary" href="#/bookings">See my bookings</a></div>`;
  }
  const max = pkg.max_travellers || 50;
  return html`<form class="card" aria-label="book" onSubmit=${(e) => { e.preventDefault(); book(e.target); }}
                    onChange=${() => setQuote(null)}>
    <h2>Book</h2>
    <div class="row">
      <${Field} label="Departure date" name="departure_date" type="date" required
        min=${pkg.first_departure_date} max=${pkg.last_departure_date} />
      <label>Travellers<input type="number" min=${pkg.min_travellers || 1} max=${max} value=${count}
        onInput=${(e) => setCount(Math.max(1, Math.min(max, Number(e.target.value) || 1)))} /></label>
    </div>
    ${Array.from({ length: count }, (_, i) => html`<div class="row" key=${i}>
      <${Field} label=${i === 0 ? "Lead traveller's full name" : `Traveller ${i + 1}'s full name`}
        name="traveller_name" required />
      ${i === 0 && html`<${Field} label="Lead traveller's e-mail" name="lead_email" type="email" required />`}
    </div>`)}
    ${pkg.addons.length > 0 && html`<fieldset><legend>Add-ons</legend>${pkg.addons.map((a) => html`
      <label class="check"><input type="checkbox" name="addon_id" value=${a.id} />
        ${a.name} (${money(a.price, pkg.currency)} ${a.pricing === "per_traveller" ? "per traveller" : "per booking"})</label>`)}
    </fieldset>`}
    ${quote && html`<div class="card" aria-label="price preview">
      <table><tbody>${quote.price_breakdown.map((line) => html`<tr>
        <td>${line.item === "package" ? "Package" : line.name}</td>
        <td>${line.quantity} × ${line.unit_price}</td><td>${money(line.amount, quote.currency)}</td></tr>`)}
      </tbody></table>
      <p class="price" data-total>Total ${money(quote.total_price, quote.currency)}</p>
      <p class="muted">Your commission: ${money(quote.commission_amount, quote.currency)}</p>
    </div>`}
    <${ErrorBox} error=${previewError || bookError} />
    <div class="actions">
      <button type="button" disabled=${previewing}
              onClick=${(e) => e.target.form.reportValidity() && preview(e.target.form)}>Preview price</button>
      <${Submit} busy=${booking}>Book</${Submit}>
    </div>
  </form>`;
}

export function Bookings({ params }) {
  const { status, list, act, acting, actError, toOffset } = useRowActions("/api/bookings", params);
  return html`<section>
    <h1>My bookings</h1>
    <${StatusTabs} statuses=${["", ...STATUSES]} current=${status} route="/bookings" />
    <${ErrorBox} error=${actError} />
    <${Loaded} state=${list}>${(page) => page.data.length === 0
      ? html`<${Empty}>No bookings${status ? ` ${status}` : ""} yet. <a href="#/catalogue">Find a package</a>.</${Empty}>`
      : html`<table><thead><tr><th>Package</th><th>Departure</th><th>Travellers</th><th>Total</th><th>Status</th><th></th></tr></thead>
        <tbody>${page.data.map((b) => html`<tr data-booking=${b.id}>
          <td data-label="Package">${b.package ? b.package.title : html`<span class="muted">(unavailable)</span>`}</td>
          <td data-label="Departure">${b.departure_date}</td>
          <td data-label="Travellers">${b.traveller_count} (${b.lead_traveller_name})</td>
          <td data-label="Total">${money(b.total_price, b.currency)}</td>
          <td data-label="Status"><${Badge} status=${b.status} /></td>
          <td>${(b.status === "pending" || b.status === "confirmed") && html`<button type="button"
            class="danger" disabled=${acting} onClick=${() => act(b.id, "cancel")}>Cancel</button>`}</td>
        </tr>`)}</tbody></table>
        <${Pager} page=${page} onOffset=${toOffset} />`}
    </${Loaded}>
  </section>`;
}

const KINDS = { licence: "Licence", id: "ID", contract: "Contract", other: "Other" };

async function upload(file, kind) {
  const announced = await request("POST", "/api/agents/me/documents", {
    body: { file_name: file.name, content_type: file.type, size: file.size, kind } });
  // Straight to S3 with the presigned POST: the file never passes through the platform.
  const form = new FormData();
  for (const [name, value] of Object.entries(announced.upload.fields)) form.append(name, value);
  form.append("file", file);
  const stored = await fetch(announced.upload.url, { method: "POST", body: form });
  if (!stored.ok) throw new Error(`The storage refused the file (HTTP ${stored.status}).`);
  return request("POST", `/api/agents/me/documents/${announced.document.id}/confirm`);
}

export function Documents() {
  const list = useAsync(() => request("GET", "/api/agents/me/documents"), []);
  const [send, sending, sendError] = useAction(async (form) => {
    const file = form.file.files[0];
    await upload(file, form.kind.value);
    form.reset();
    list.reload();
  });
  const [open, , openError] = useAction(async (id) => {
    const link = await request("GET", `/api/agents/me/documents/${id}/download`);
    window.open(link.url, "_blank", "noopener");
  });
  const [remove, removing, removeError] = useAction(async (id) => {
    await request("DELETE", `/api/agents/me/documents/${id}`);
    list.reload();
  });
  return html`<section>
    <h1>Documents</h1>
    <form class="card" aria-label="upload" onSubmit=${(e) => { e.preventDefault(); send(e.target); }}>
      <div class="row">
        <label>Kind<select name="kind">${Object.entries(KINDS).map(([k, label]) =>
          html`<option value=${k}>${label}</option>`)}</select></label>
        <label>File (PDF, JPEG or PNG, at most 10 MB)<input name="file" type="file" required
          accept="application/pdf,image/jpeg,image/png" /></label>
      </div>
      <${ErrorBox} error=${sendError} />
      <${Submit} busy=${sending}>Upload</${Submit}>
    </form>
    <${ErrorBox} error=${openError || removeError} />
    <${Loaded} state=${list}>${(docs) => docs.data.length === 0
      ? html`<${Empty}>No documents yet. Your licence helps an administrator approve you.</${Empty}>`
      : html`<table><thead><tr><th>File</th><th>Kind</th><th>Size</th><th>Status</th><th></th></tr></thead>
        <tbody>${docs.data.map((d) => html`<tr data-document=${d.id}>
          <td data-label="File">${d.file_name}</td><td data-label="Kind">${KINDS[d.kind]}</td>
          <td data-label="Size">${Math.ceil(d.size_bytes / 1024)} KB</td>
          <td data-label="Status"><${Badge} status=${d.status} /></td>
          <td><div class="actions">
            ${d.status === "uploaded" && html`<button type="button" onClick=${() => open(d.id)}>Open</button>`}
            <button type="button" class="danger" disabled=${removing} onClick=${() => remove(d.id)}>Delete</button>
          </div></td></tr>`)}</tbody></table>`}
    </${Loaded}>
  </section>`;
}

export function Profile() {
  const me = useProfile();
  const [saved, setSaved] = useState(false);
  const [save, saving, saveError] = useAction(async (values) => {
    const changes = { agency_name: values.agency_name, country: values.country,
                      phone: values.phone || null };
    await request("PATCH", "/api/agents/me", { body: changes });
    setSaved(true);
    me.reload();
  });
  return html`<section>
    <h1>Profile</h1>
    <${Loaded} state=${me}>${({ profile }) => html`
      <form class="card" onSubmit=${(e) => save(formValues(e))}>
        <p>${profile.email} · <${Badge} status=${profile.status} /> · commission ${(Number(profile.commission_rate) * 100).toFixed(2)} %</p>
        <${Field} label="Agency name" name="agency_name" value=${profile.agency_name} required />
        <${Field} label="Country" name="country" value=${profile.country || ""} maxlength="2" required />
        <${Field} label="Phone" name="phone" type="tel" value=${profile.phone || ""} />
        <${ErrorBox} error=${saveError} />
        ${saved && html`<${Notice}>Saved.</${Notice}>`}
        <${Submit} busy=${saving}>Save</${Submit}>
      </form>`}
    </${Loaded}>
    <${ChangePassword} />
  </section>`;
}
