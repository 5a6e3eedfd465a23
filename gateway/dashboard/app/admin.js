// Administrators (Cognito group `admins`): travel agents and tour operators to approve,
// suspend, reactivate. Both lists are the same screen over their own API.
import { Badge, Empty, ErrorBox, Loaded, Pager, StatusTabs, html, useRowActions } from "./ui.js";

const ACTIONS = { pending: ["approve"], active: ["suspend"], suspended: ["reactivate"] };

function Approvals({ params, path, route, title, noun, columns, rowKey }) {
  const { status, list, act, acting, actError, toOffset } = useRowActions(path, params, "pending");
  return html`<section>
    <h1>${title}</h1>
    <${StatusTabs} statuses=${["pending", "active", "suspended", ""]} current=${status} route=${route} />
    <${ErrorBox} error=${actError} />
    <${Loaded} state=${list}>${(page) => page.data.length === 0
      ? html`<${Empty}>No ${status} ${noun}.</${Empty}>`
      : html`<table><thead><tr>${columns.map(([label]) => html`<th>${label}</th>`)}
          <th>Since</th><th>Status</th><th></th></tr></thead>
        <tbody>${page.data.map((row) => html`<tr data-row=${rowKey(row)}>
          ${columns.map(([label, value]) => html`<td data-label=${label}>${value(row)}</td>`)}
          <td data-label="Since">${row.created_at.slice(0, 10)}</td>
          <td data-label="Status"><${Badge} status=${row.status} /></td>
          <td><div class="actions">${(ACTIONS[row.status] || []).map((action) => html`<button type="button"
            class=${action === "suspend" ? "danger" : "primary"} disabled=${acting}
            onClick=${() => act(row.id, action)}>${action[0].toUpperCase() + action.slice(1)}</button>`)}</div></td>
        </tr>`)}</tbody></table>
        <${Pager} page=${page} onOffset=${toOffset} />`}
    </${Loaded}>
  </section>`;
}

export function AgentApprovals({ params }) {
  return Approvals({ params, path: "/api/agents", route: "/admin/agents", title: "Travel agents",
    noun: "agents", rowKey: (a) => a.email,
    columns: [["Agency", (a) => a.agency_name], ["E-mail", (a) => a.email],
              ["Country", (a) => a.country || "—"]] });
}

// The addresses the operator signs in with, as Supabase Auth (and, once linked, the
// operators' Cognito pool) hold them: what an administrator can trust, unlike the contact
// e-mail, which the operator types.
function signIns(operator) {
  const shown = (operator.sign_ins || []).map((s) => s.confirmed ? s.email : `${s.email} (unconfirmed)`);
  return [...new Set(shown)].join(", ") || "—";
}

// A new operator may draft packages but publishes and confirms bookings only once approved.
export function OperatorApprovals({ params }) {
  return Approvals({ params, path: "/api/operators", route: "/admin/operators",
    title: "Tour operators", noun: "operators", rowKey: (o) => o.contact_email,
    columns: [["Company", (o) => o.company_name], ["Signs in as", signIns],
              ["Contact e-mail (typed)", (o) => o.contact_email || "—"],
              ["Phone", (o) => o.contact_phone || "—"]] });
}
