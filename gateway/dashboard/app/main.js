// The Travel Agent Dashboard: one page, routed by the URL's fragment (#/catalogue), with
// the screens of whoever is signed in: a travel agent, an administrator, a tour operator.
import * as accounts from "./accounts.js";
import * as admin from "./admin.js";
import * as agent from "./agent.js";
import { currentSession, onSessionChange, signOut } from "./auth.js";
import * as operator from "./operator.js";
import { go, html } from "./ui.js";
import { render, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";

const PUBLIC = { "/login": accounts.SignIn, "/signup": accounts.SignUp, "/confirm": accounts.Confirm,
                 "/forgot": accounts.Forgot };
// Per role: the menu, then the screens (a `:id` segment is passed as `id`).
const ROLES = {
  agent: {
    home: "/home",
    menu: [["/home", "Home"], ["/catalogue", "Packages"], ["/bookings", "My bookings"],
           ["/documents", "Documents"], ["/profile", "Profile"]],
    screens: { "/home": agent.Home, "/catalogue": agent.Catalogue, "/packages/:id": agent.PackageView,
               "/bookings": agent.Bookings, "/documents": agent.Documents, "/profile": agent.Profile },
  },
  admin: {
    home: "/admin/agents",
    menu: [["/admin/agents", "Agent approvals"], ["/admin/operators", "Operator approvals"],
           ["/catalogue", "Packages"]],
    screens: { "/admin/agents": admin.AgentApprovals, "/admin/operators": admin.OperatorApprovals,
               "/catalogue": agent.Catalogue,
               "/packages/:id": agent.PackageView },
  },
  operator: {
    home: "/operator/packages",
    menu: [["/operator/packages", "My packages"], ["/operator/bookings", "Bookings"],
           ["/catalogue", "Catalogue"], ["/operator/profile", "Profile"]],
    screens: { "/operator/packages": operator.Packages, "/operator/packages/:id": operator.PackageEditor,
               "/operator/bookings": operator.OperatorBookings, "/operator/profile": operator.OperatorProfile,
               "/catalogue": agent.Catalogue, "/packages/:id": agent.PackageView },
  },
};

function parseHash() {
  const [path, query = ""] = window.location.hash.replace(/^#/, "").split("?");
  return { path: path || "/", params: new URLSearchParams(query) };
}

function match(screens, path) {
  for (const [pattern, screen] of Object.entries(screens)) {
    const names = [];
    const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return "([^/]+)"; })}$`);
    const found = path.match(regex);
    if (found) return [screen, Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(found[i + 1])]))];
  }
  return [null, {}];
}

function Header({ session, path }) {
  const role = ROLES[session.role];
  return html`<header class="top">
    <span class="brand">Travel Agent Dashboard</span>
    <nav aria-label="main">${role.menu.map(([to, label]) => html`<a href=${`#${to}`}
      class=${path.startsWith(to) ? "active" : ""}>${label}</a>`)}</nav>
    <span class="who">${session.email}</span>
    <button type="button" onClick=${async () => { await signOut(); go("/login"); }}>Sign out</button>
  </header>`;
}

function App() {
  const [route, setRoute] = useState(parseHash);
  const [session, setSession] = useState(currentSession);
  useEffect(() => {
    const onHash = () => setRoute(parseHash());
    window.addEventListener("hashchange", onHash);
    const unsubscribe = onSessionChange(setSession);
    return () => { window.removeEventListener("hashchange", onHash); unsubscribe(); };
  }, []);
  const { path, params } = route;
  const role = session ? ROLES[session.role] : null;
  const [Screen, ids] = role ? match(role.screens, path) : [PUBLIC[path], {}];
  // Anywhere else: the sign-in page, or the signed-in person's home (after the hashchange
  // listener above is in place).
  const redirect = Screen ? null : role ? role.home : "/login";
  useEffect(() => { if (redirect) go(redirect); }, [redirect]);
  if (!Screen) return null;
  if (!role) return html`<main><${Screen} key=${path} params=${params} /></main>`;
  return html`<${Header} session=${session} path=${path} />
    <main><${Screen} key=${path} params=${params} ...${ids} /></main>`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
