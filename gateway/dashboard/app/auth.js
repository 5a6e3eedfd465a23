// Every way into the dashboard, in one module: travel agents (and admins) through the
// API's Cognito routes, tour operators through Supabase Auth with supabase-js. Nothing
// else knows how a token is obtained, so moving operators to another sign-in (the
// planned POST /api/operators/login) changes this file only.
//
// Tokens live in this module's memory, never in localStorage or cookies: a reload asks
// to sign in again, and a script injected into the page (the CSP forbids inline ones)
// finds nothing stored to steal.
import { ApiError, request, useTokensFrom } from "./api.js";
import { config } from "./config.js";

let session = null; // { role: "agent" | "admin" | "operator", email, ... }
const listeners = new Set();

function set(next) {
  session = next;
  for (const listener of listeners) listener(session);
}

/** The signed-in person, or null. */
export function currentSession() {
  return session;
}

/** Call `listener` on every sign-in and sign-out; returns the unsubscribe function. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function claims(jwt) {
  // For the menu only (which screens to offer); the gateway and services verify tokens.
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

// --- travel agents and admins: Cognito, through /api/agents ----------------------------

function agentSession(email, tokens, refreshToken) {
  const groups = claims(tokens.access_token)["cognito:groups"] || [];
  return { role: groups.includes("admins") ? "admin" : "agent", email,
           accessToken: tokens.access_token, refreshToken: tokens.refresh_token || refreshToken };
}

export async function signInAgent(email, password) {
  const tokens = await request("POST", "/api/agents/login", { body: { email, password }, auth: false });
  set(agentSession(email.trim().toLowerCase(), tokens));
}

export const signUpAgent = (fields) =>
  request("POST", "/api/agents/signup", { body: fields, auth: false });
// The code confirms only the account whose password is given (an address someone else
// signed up with first is not captured by the owner's code).
export const confirmAgent = (email, password, code) =>
  request("POST", "/api/agents/confirm-signup", { body: { email, password, code }, auth: false });
export const resendAgentCode = (email) =>
  request("POST", "/api/agents/resend-confirmation-code", { body: { email }, auth: false });
export const forgotAgentPassword = (email) =>
  request("POST", "/api/agents/forgot-password", { body: { email }, auth: false });
export const resetAgentPassword = (email, code, newPassword) =>
  request("POST", "/api/agents/confirm-forgot-password",
          { body: { email, code, new_password: newPassword }, auth: false });

// --- tour operators: Supabase Auth with supabase-js -------------------------------------

let supabaseClient = null;

async function supabase() {
  if (!supabaseClient) {
    const { supabaseUrl, supabaseAnonKey } = await config();
    if (!window.supabase || !supabaseUrl) {
      throw new ApiError(0, { error: { code: "auth_unavailable",
        message: "Operator sign-in is not configured here (no Supabase URL)." } });
    }
    // persistSession false: supabase-js keeps the session in memory, not in localStorage.
    supabaseClient = window.supabase.createClient(supabaseUrl, supabaseAnonKey, {
      auth: { persistSession: false, autoRefreshToken: true, detectSessionInUrl: false },
    });
    supabaseClient.auth.onAuthStateChange((event, next) => {
      if (event === "SIGNED_OUT" && session?.role === "operator") set(null);
      else if (next && session?.role === "operator") set({ ...session, accessToken: next.access_token });
    });
  }
  return supabaseClient;
}

// supabase-js answers { data, error }; the dashboard shows AuthApiError's own words.
async function gotrue(call) {
  const { data, error } = await call(await supabase());
  if (error) throw new ApiError(error.status || 400, { error: { code: error.code || "auth_error", message: error.message } });
  return data;
}

function operatorSession(data) {
  set({ role: "operator", email: data.session.user.email, accessToken: data.session.access_token });
}

export async function signInOperator(email, password) {
  operatorSession(await gotrue((c) => c.auth.signInWithPassword({ email, password })));
}

/** Sign up; the company name becomes the operator's profile. True if signed in at once
 *  (the project confirms addresses automatically), false if a code was e-mailed. */
export async function signUpOperator(email, password, companyName) {
  const data = await gotrue((c) => c.auth.signUp({ email, password,
    options: { data: { company_name: companyName } } }));
  if (data.session) operatorSession(data);
  return Boolean(data.session);
}

export async function confirmOperator(email, code) {
  operatorSession(await gotrue((c) => c.auth.verifyOtp({ email, token: code, type: "signup" })));
}

export const resendOperatorCode = (email) =>
  gotrue((c) => c.auth.resend({ type: "signup", email }));
export const forgotOperatorPassword = (email) =>
  gotrue((c) => c.auth.resetPasswordForEmail(email));

/** The e-mailed recovery code signs the operator in; then the new password is set. */
export async function resetOperatorPassword(email, code, newPassword) {
  const signedIn = await gotrue((c) => c.auth.verifyOtp({ email, token: code, type: "recovery" }));
  await gotrue((c) => c.auth.updateUser({ password: newPassword }));
  operatorSession(signedIn);   // only once the new password is set: its errors show on the form
}

// --- the signed-in person, whoever they are ---------------------------------------------

/** Through the API for both: operator-service changes an operator's password wherever
 *  they can sign in with it (Supabase Auth and, during their move, the operators' pool).
 *  Every session of the account ends, this one too: the answer carries its new tokens. */
export async function changePassword(currentPassword, newPassword) {
  const operator = session?.role === "operator";
  const path = operator ? "/api/operators/me/password" : "/api/agents/me/password";
  const tokens = await request("POST", path,
                               { body: { current_password: currentPassword, new_password: newPassword } });
  if (operator) {
    operatorSession(await gotrue((c) => c.auth.setSession({
      access_token: tokens.access_token, refresh_token: tokens.refresh_token })));
  } else {
    set(agentSession(session.email, tokens));
  }
}

export async function signOut() {
  const was = session;
  set(null);
  try {
    if (was?.role === "operator") await (await supabase()).auth.signOut();
    else if (was) {
      await request("POST", "/api/agents/logout", { auth: false,
        headers: { Authorization: `Bearer ${was.accessToken}` } });
    }
  } catch {
    // Signed out here either way; the tokens expire on their own.
  }
}

async function renew() {
  if (session?.role === "operator") {
    const { data } = await (await supabase()).auth.refreshSession();
    if (!data?.session) return false;
    set({ ...session, accessToken: data.session.access_token });
    return true;
  }
  if (!session?.refreshToken) return false;
  try {
    const tokens = await request("POST", "/api/agents/refresh",
                                 { body: { refresh_token: session.refreshToken }, auth: false });
    set(agentSession(session.email, tokens, session.refreshToken));
    return true;
  } catch {
    set(null);
    return false;
  }
}

useTokensFrom({ access: async () => session?.accessToken || null, renew });
