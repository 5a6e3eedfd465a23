// The tour operator's console: packages (list, create, edit, publish) and the bookings of
// their packages to confirm or decline.
import { request } from "./api.js";
import { ChangePassword } from "./accounts.js";
import {
  Badge, Empty, ErrorBox, Field, Loaded, Pager, StatusTabs, Submit, go, html, money, useAction,
  useAsync, useRowActions,
} from "./ui.js";
import { useState } from "../vendor/htm-preact-standalone.module.js";

export function Packages({ params }) {
  const { list, act, acting, actError, toOffset } = useRowActions("/api/operators/me/packages", params);
  return html`<section>
    <h1>My packages</h1>
    <div class="actions"><a class="button primary" href="#/operator/packages/new">New package</a></div>
    <${ErrorBox} error=${actError} />
    <${Loaded} state=${list}>${(page) => page.data.length === 0
      ? html`<${Empty}>No packages yet: create your first one.</${Empty}>`
      : html`<table><thead><tr><th>Title</th><th>Stops</th><th>Price</th><th>Status</th><th></th></tr></thead>
        <tbody>${page.data.map((p) => html`<tr data-package=${p.id}>
          <td data-label="Title"><a href=${`#/operator/packages/${p.id}`}>${p.title}</a></td>
          <td data-label="Stops">${p.stops.map((s) => s.city).join(" → ") || "—"}</td>
          <td data-label="Price">${money(p.price_per_traveller, p.currency)}</td>
          <td data-label="Status"><${Badge} status=${p.status} /></td>
          <td><div class="actions">
            ${p.status === "draft" && html`<button type="button" class="primary" disabled=${acting}
              onClick=${() => act(p.id, "publish")}>Publish</button>`}
            ${p.status === "published" && html`<button type="button" disabled=${acting}
              onClick=${() => act(p.id, "archive")}>Archive</button>`}
          </div></td></tr>`)}</tbody></table>
        <${Pager} page=${page} onOffset=${toOffset} />`}
    </${Loaded}>
  </section>`;
}

const EMPTY_PACKAGE = {
  title: "", description: "", price_per_traveller: "", currency: "EUR", min_travellers: "",
  max_travellers: "", capacity_per_departure: "", first_departure_date: "", last_departure_date: "",
  stops: [], addons: [], exclusions: [],
};
const NUMBERS = ["min_travellers", "max_travellers", "capacity_per_departure"];
const OPTIONAL = ["price_per_traveller", "first_departure_date", "last_departure_date", ...NUMBERS];
const PARTS = {
  stops: { blank: { city: "", country: "", nights: 1, hotel_name: "", star_rating: 3 },
           title: "Stops", label: "stop" },
  addons: { blank: { name: "", price: "", pricing: "per_traveller" }, title: "Add-ons", label: "add-on" },
  exclusions: { blank: { text: "" }, title: "Not included", label: "exclusion" },
};

function editable(pkg) {
  const values = { ...EMPTY_PACKAGE };
  for (const name of Object.keys(EMPTY_PACKAGE)) {
    if (pkg[name] !== null && pkg[name] !== undefined) values[name] = pkg[name];
  }
  values.stops = pkg.stops.map(({ city, country, nights, hotel_name, star_rating }) =>
    ({ city, country, nights, hotel_name, star_rating }));
  values.addons = pkg.addons.map(({ name, price, pricing }) => ({ name, price, pricing }));
  values.exclusions = pkg.exclusions.map(({ text }) => ({ text }));
  return values;
}

/** The request body: numbers as numbers, empty optional fields left out (a new package)
 *  or cleared with null (an edit). */
function packageBody(values, isNew) {
  const body = { title: values.title, description: values.description, currency: values.currency,
    stops: values.stops.map((s) => ({ ...s, country: s.country.toUpperCase(), nights: Number(s.nights),
                                      star_rating: Number(s.star_rating) })),
    addons: values.addons, exclusions: values.exclusions };
  for (const name of OPTIONAL) {
    const value = String(values[name] ?? "").trim();
    if (value !== "") body[name] = NUMBERS.includes(name) ? Number(value) : value;
    else if (!isNew) body[name] = null;
  }
  return body;
}

export function PackageEditor({ id }) {
  const isNew = id === "new";
  const loaded = useAsync(() => (isNew ? Promise.resolve(null)
    : request("GET", `/api/operators/me/packages/${id}`)), [id]);
  return html`<section>
    <p><a href="#/operator/packages">← My packages</a></p>
    <h1>${isNew ? "New package" : "Edit package"}</h1>
    <${Loaded} state=${loaded}>${(pkg) => html`<${PackageForm} key=${id} pkg=${pkg} isNew=${isNew} />`}</${Loaded}>
  </section>`;
}

function PackageForm({ pkg, isNew }) {
  const [values, setValues] = useState(() => (pkg ? editable(pkg) : { ...EMPTY_PACKAGE }));
  const [status, setStatus] = useState(pkg?.status || "draft");
  const set = (name) => (e) => setValues({ ...values, [name]: e.target.value });
  const setPart = (part, i, name) => (e) => setValues({ ...values,
    [part]: values[part].map((row, j) => (j === i ? { ...row, [name]: e.target.value } : row)) });
  const addPart = (part) => setValues({ ...values, [part]: [...values[part], { ...PARTS[part].blank }] });
  const dropPart = (part, i) => setValues({ ...values, [part]: values[part].filter((_, j) => j !== i) });

  const [save, saving, saveError] = useAction(async (publish) => {
    const body = packageBody(values, isNew);
    const saved = isNew
      ? await request("POST", "/api/operators/me/packages", { body })
      : await request("PATCH", `/api/operators/me/packages/${pkg.id}`, { body });
    if (publish) {
      const published = await request("POST", `/api/operators/me/packages/${saved.id}/publish`);
      setStatus(published.status);
    }
    go(`/operator/packages/${saved.id}`);
    if (!isNew) setStatus(publish ? "published" : saved.status);
  });
  const field = (label, name, extra = {}) =>
    html`<${Field} label=${label} name=${name} value=${values[name]} onInput=${set(name)} ...${extra} />`;
  const partRow = (part, row, i) => html`<div class="row" data-part=${part} key=${`${part}-${i}`}>
    ${part === "stops" && html`
      <label>City<input value=${row.city} onInput=${setPart(part, i, "city")} required /></label>
      <label>Country<input value=${row.country} onInput=${setPart(part, i, "country")} maxlength="2" required /></label>
      <label>Nights<input type="number" min="1" value=${row.nights} onInput=${setPart(part, i, "nights")} required /></label>
      <label>Hotel<input value=${row.hotel_name} onInput=${setPart(part, i, "hotel_name")} required /></label>
      <label>Stars<input type="number" min="1" max="5" value=${row.star_rating} onInput=${setPart(part, i, "star_rating")} required /></label>`}
    ${part === "addons" && html`
      <label>Add-on<input value=${row.name} onInput=${setPart(part, i, "name")} required /></label>
      <label>Price<input value=${row.price} inputmode="decimal" onInput=${setPart(part, i, "price")} required /></label>
      <label>Priced<select value=${row.pricing} onChange=${setPart(part, i, "pricing")}>
        <option value="per_traveller">per traveller</option><option value="per_booking">per booking</option></select></label>`}
    ${part === "exclusions" && html`
      <label>Not included<input value=${row.text} onInput=${setPart(part, i, "text")} required /></label>`}
    <button type="button" class="danger" onClick=${() => dropPart(part, i)}>Remove</button>
  </div>`;
  return html`<form class="card" aria-label="package" onSubmit=${(e) => { e.preventDefault(); save(false); }}>
    <p>Status: <${Badge} status=${status} /></p>
    ${field("Title", "title", { required: true, maxlength: 200 })}
    <label>Description<textarea name="description" rows="3" value=${values.description} onInput=${set("description")} /></label>
    <div class="row">
      ${field("Price per traveller", "price_per_traveller", { inputmode: "decimal" })}
      ${field("Currency", "currency", { maxlength: 3 })}
      ${field("Seats per departure", "capacity_per_departure", { type: "number", min: 1 })}
    </div>
    <div class="row">
      ${field("Min travellers", "min_travellers", { type: "number", min: 1 })}
      ${field("Max travellers", "max_travellers", { type: "number", min: 1 })}
      ${field("First departure", "first_departure_date", { type: "date" })}
      ${field("Last departure", "last_departure_date", { type: "date" })}
    </div>
    ${Object.entries(PARTS).map(([part, { title, label }]) => html`<fieldset>
      <legend>${title}</legend>
      ${values[part].map((row, i) => partRow(part, row, i))}
      <button type="button" onClick=${() => addPart(part)}>Add ${label}</button>
    </fieldset>`)}
    <${ErrorBox} error=${saveError} />
    <div class="actions">
      <${Submit} busy=${saving}>Save</${Submit}>
      ${status === "draft" && html`<button type="button" disabled=${saving}
        onClick=${(e) => e.target.form.reportValidity() && save(true)}>Save and publish</button>`}
    </div>
  </form>`;
}

export function OperatorBookings({ params }) {
  const { status, list, act, acting, actError, toOffset } = useRowActions("/api/bookings", params, "pending");
  return html`<section>
    <h1>Bookings of my packages</h1>
    <${StatusTabs} statuses=${["pending", "confirmed", "declined", "cancelled", ""]} current=${status}
      route="/operator/bookings" />
    <${ErrorBox} error=${actError} />
    <${Loaded} state=${list}>${(page) => page.data.length === 0
      ? html`<${Empty}>No ${status || ""} bookings.</${Empty}>`
      : html`<table><thead><tr><th>Package</th><th>Agency</th><th>Departure</th><th>Travellers</th><th>Total</th><th>Status</th><th></th></tr></thead>
        <tbody>${page.data.map((b) => html`<tr data-booking=${b.id}>
          <td data-label="Package">${b.package ? b.package.title : "—"}</td>
          <td data-label="Agency">${b.agent ? b.agent.agency_name : "—"}</td>
          <td data-label="Departure">${b.departure_date}</td>
          <td data-label="Travellers">${b.traveller_count}</td>
          <td data-label="Total">${money(b.total_price, b.currency)}</td>
          <td data-label="Status"><${Badge} status=${b.status} /></td>
          <td>${b.status === "pending" && html`<div class="actions">
            <button type="button" class="primary" disabled=${acting} onClick=${() => act(b.id, "confirm")}>Confirm</button>
            <button type="button" class="danger" disabled=${acting} onClick=${() => act(b.id, "decline")}>Decline</button>
          </div>`}</td></tr>`)}</tbody></table>
        <${Pager} page=${page} onOffset=${toOffset} />`}
    </${Loaded}>
  </section>`;
}

export function OperatorProfile() {
  const me = useAsync(() => request("GET", "/api/operators/me"), []);
  const [save, saving, saveError] = useAction(async (form) => {
    const data = new FormData(form);
    await request("PATCH", "/api/operators/me", { body: {
      company_name: String(data.get("company_name")).trim(),
      contact_phone: String(data.get("contact_phone")).trim() || null } });
    me.reload();
  });
  return html`<section>
    <h1>Company profile</h1>
    <${Loaded} state=${me}>${({ identity, profile }) => html`
      <form class="card" onSubmit=${(e) => { e.preventDefault(); save(e.target); }}>
        <p class="muted">${identity.email}</p>
        <${Field} label="Company name" name="company_name" value=${profile?.company_name || ""} required />
        <${Field} label="Contact phone" name="contact_phone" type="tel" value=${profile?.contact_phone || ""} />
        <${ErrorBox} error=${saveError} />
        <${Submit} busy=${saving}>Save</${Submit}>
      </form>`}
    </${Loaded}>
    <${ChangePassword} />
  </section>`;
}
