// Every way into the dashboard, in one module: travel agents (and admins) through the
// API's Cognito routes; tour operators through the API's operators' pool routes once their
// move to Cognito has begun, and through Supabase Auth with supabase-js before it. Nothing
// else knows how a token is obtained.
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

// --- tour operators: the operators' pool through /api/operators, or Supabase Auth --------
// Which one follows the operators' move (docs/operator-logins.md), which the dashboard need
// not know: it asks the API first, whatever the state. Before `start operators` the API
// answers 401 `operator_login_closed` and the dashboard goes to Supabase Auth with
// supabase-js, as operators always did; from then on the API signs them in (moving each on
// their first sign-in), and after the move Supabase Auth may be switched off altogether.

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
      if (session?.via !== "supabase") return;
      if (event === "SIGNED_OUT") set(null);
      else if (next) set({ ...session, accessToken: next.access_token });
    });
  }
  return supabaseClient;
}

// supabase-js answers { data, error }; the dashboard shows AuthApiError's own words, and
// says what happened when Supabase Auth cannot be reached at all ("Failed to fetch").
async function gotrue(call) {
  const { data, error } = await call(await supabase());
  if (error && !error.status) {
    throw new ApiError(0, { error: { code: "auth_unavailable",
      message: "Tour operators' sign-in could not be reached: try again in a moment." } });
  }
  if (error) throw new ApiError(error.status, { error: { code: error.code || "auth_error", message: error.message } });
  return data;
}

function operatorSession(data) {
  set({ role: "operator", via: "supabase", email: data.session.user.email,
        accessToken: data.session.access_token });
}

function poolSession(email, tokens, refreshToken) {
  return { role: "operator", via: "pool", email, accessToken: tokens.access_token,
           refreshToken: tokens.refresh_token || refreshToken };
}

/** `throughApi()`, or, before the operators' move has begun, `throughSupabase()`. */
async function operatorsWay(throughApi, throughSupabase) {
  try {
    return await throughApi();
  } catch (error) {
    if (error instanceof ApiError && error.code === "operator_login_closed") return throughSupabase();
    throw error;
  }
}

export const signInOperator = (email, password) => operatorsWay(
  async () => set(poolSession(email.trim().toLowerCase(), await request("POST", "/api/operators/login",
                                                                        { body: { email, password }, auth: false }))),
  async () => operatorSession(await gotrue((c) => c.auth.signInWithPassword({ email, password }))));

/** Sign up (Supabase Auth: the operators' pool takes no sign-ups); the company name becomes
 *  the operator's profile. True if signed in at once (the project confirms addresses
 *  automatically), false if a code was e-mailed. */
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
export const forgotOperatorPassword = (email) => operatorsWay(
  () => request("POST", "/api/operators/forgot-password", { body: { email }, auth: false }),
  () => gotrue((c) => c.auth.resetPasswordForEmail(email)));

/** The e-mailed code sets the new password, then the operator is signed in with it. */
export const resetOperatorPassword = (email, code, newPassword) => operatorsWay(
  async () => {
    await request("POST", "/api/operators/confirm-forgot-password",
                  { body: { email, code, new_password: newPassword }, auth: false });
    await signInOperator(email, newPassword);
  },
  async () => {
    const signedIn = await gotrue((c) => c.auth.verifyOtp({ email, token: code, type: "recovery" }));
    await gotrue((c) => c.auth.updateUser({ password: newPassword }));
    operatorSession(signedIn);   // only once the new password is set: its errors show on the form
  });

// --- the signed-in person, whoever they are ---------------------------------------------

/** Through the API for both: operator-service changes an operator's password wherever
 *  they can sign in with it (Supabase Auth and, during their move, the operators' pool).
 *  Every session of the account ends, this one too: the answer carries its new tokens. */
export async function changePassword(currentPassword, newPassword) {
  const operator = session?.role === "operator";
  const path = operator ? "/api/operators/me/password" : "/api/agents/me/password";
  const tokens = await request("POST", path,
                               { body: { current_password: currentPassword, new_password: newPassword } });
  if (operator && session.via === "pool") {
    set(poolSession(session.email, tokens));
  } else if (operator) {
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
    if (was?.via === "supabase") await (await supabase()).auth.signOut();
    else if (was) {
      const path = was.role === "operator" ? "/api/operators/logout" : "/api/agents/logout";
      await request("POST", path, { auth: false, headers: { Authorization: `Bearer ${was.accessToken}` } });
    }
  } catch {
    // Signed out here either way; the tokens expire on their own.
  }
}

async function renew() {
  if (session?.via === "supabase") {
    const { data } = await (await supabase()).auth.refreshSession();
    if (!data?.session) return false;
    set({ ...session, accessToken: data.session.access_token });
    return true;
  }
  if (!session?.refreshToken) return false;
  const operator = session.role === "operator";
  try {
    const tokens = await request("POST", operator ? "/api/operators/refresh" : "/api/agents/refresh",
                                 { body: { refresh_token: session.refreshToken }, auth: false });
    set(operator ? poolSession(session.email, tokens, session.refreshToken)
                 : agentSession(session.email, tokens, session.refreshToken));
    return true;
  } catch {
    set(null);
    return false;
  }
}

useTokensFrom({ access: async () => session?.accessToken || null, renew });
