// Administrators (Cognito group `admins`): travel agents to approve, suspend, reactivate.
import { request } from "./api.js";
import { Badge, Empty, ErrorBox, Loaded, Pager, go, html, useAction, useAsync } from "./ui.js";

const ACTIONS = { pending: ["approve"], active: ["suspend"], suspended: ["reactivate"] };

export function AgentApprovals({ params }) {
  const status = params.get("status") ?? "pending";
  const offset = Number(params.get("offset") || 0);
  const list = useAsync(() => request("GET", "/api/agents", { query: { status, offset, limit: 20 } }),
                        [status, offset]);
  const [act, acting, actError] = useAction(async (id, action) => {
    await request("POST", `/api/agents/${id}/${action}`);
    list.reload();
  });
  return html`<section>
    <h1>Travel agents</h1>
    <div class="tabs" role="group" aria-label="status">
      ${["pending", "active", "suspended", ""].map((s) => html`<button type="button" aria-pressed=${s === status}
        onClick=${() => go(`/admin/agents?status=${s}`)}>${s || "all"}</button>`)}
    </div>
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
        <${Pager} page=${page} onOffset=${(o) => go(`/admin/agents?status=${status}&offset=${o}`)} />`}
    </${Loaded}>
  </section>`;
}
