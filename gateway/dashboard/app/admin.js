// Administrators (Cognito group `admins`): travel agents to approve, suspend, reactivate.
import { Badge, Empty, ErrorBox, Loaded, Pager, StatusTabs, html, useRowActions } from "./ui.js";

const ACTIONS = { pending: ["approve"], active: ["suspend"], suspended: ["reactivate"] };

export function AgentApprovals({ params }) {
  const { status, list, act, acting, actError, toOffset } = useRowActions("/api/agents", params, "pending");
  return html`<section>
    <h1>Travel agents</h1>
    <${StatusTabs} statuses=${["pending", "active", "suspended", ""]} current=${status} route="/admin/agents" />
    <${ErrorBox} error=${actError} />
    <${Loaded} state=${list}>${(page) => page.data.length === 0
      ? html`<${Empty}>No ${status} agents.</${Empty}>`
      : html`<table><thead><tr><th>Agency</th><th>E-mail</th><th>Country</th><th>Since</th><th>Status</th><th></th></tr></thead>
        <tbody>${page.data.map((a) => html`<tr data-agent=${a.email}>
          <td data-label="Agency">${a.agency_name}</td><td data-label="E-mail">${a.email}</td>
          <td data-label="Country">${a.country || "—"}</td>
          <td data-label="Since">${a.created_at.slice(0, 10)}</td>
          <td data-label="Status"><${Badge} status=${a.status} /></td>
          <td><div class="actions">${(ACTIONS[a.status] || []).map((action) => html`<button type="button"
            class=${action === "suspend" ? "danger" : "primary"} disabled=${acting}
            onClick=${() => act(a.id, action)}>${action[0].toUpperCase() + action.slice(1)}</button>`)}</div></td>
        </tr>`)}</tbody></table>
        <${Pager} page=${page} onOffset=${toOffset} />`}
    </${Loaded}>
  </section>`;
}
