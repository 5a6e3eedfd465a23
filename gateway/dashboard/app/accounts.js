// Signing in, signing up, confirming, and recovering a password, for agents and operators.
import * as auth from "./auth.js";
import { ErrorBox, Field, Notice, Submit, formValues, go, html, useAction } from "./ui.js";
import { useState } from "../vendor/htm-preact-standalone.module.js";

const ROLES = { agent: "Travel agent", operator: "Tour operator" };

function RoleTabs({ role, setRole }) {
  return html`<div class="tabs" role="group" aria-label="I am a">
    ${Object.entries(ROLES).map(([key, label]) => html`
      <button type="button" aria-pressed=${role === key} onClick=${() => setRole(key)}>${label}</button>`)}
  </div>`;
}

function useRole(params) {
  return useState(params.get("as") === "operator" ? "operator" : "agent");
}

export function SignIn({ params }) {
  const [role, setRole] = useRole(params);
  const [run, busy, error] = useAction(async ({ email, password }) => {
    await (role === "operator" ? auth.signInOperator : auth.signInAgent)(email, password);
    go(role === "operator" ? "/operator/packages" : "/home");
  });
  return html`<section class="card narrow">
    <h1>Sign in</h1>
    <${RoleTabs} role=${role} setRole=${setRole} />
    <form onSubmit=${(e) => run(formValues(e))}>
      <${Field} label="E-mail" name="email" type="email" autocomplete="username" required />
      <${Field} label="Password" name="password" type="password" autocomplete="current-password" required />
      <${ErrorBox} error=${error} />
      ${error?.code === "account_not_confirmed" &&
        html`<p><a href="#/confirm">Confirm your account with the e-mailed code</a></p>`}
      <${Submit} busy=${busy}>Sign in</${Submit}>
    </form>
    <p><a href=${`#/signup?as=${role}`}>Create an account</a> ·
       <a href=${`#/forgot?as=${role}`}>Forgot your password?</a></p>
  </section>`;
}

export function SignUp({ params }) {
  const [role, setRole] = useRole(params);
  const [run, busy, error] = useAction(async (values) => {
    if (role === "operator") {
      const signedIn = await auth.signUpOperator(values.email, values.password, values.company_name);
      go(signedIn ? "/operator/packages" : `/confirm?as=operator&email=${encodeURIComponent(values.email)}`);
      return;
    }
    await auth.signUpAgent({ email: values.email, password: values.password,
                             agency_name: values.agency_name, country: values.country,
                             ...(values.phone ? { phone: values.phone } : {}) });
    go(`/confirm?email=${encodeURIComponent(values.email)}`);
  });
  return html`<section class="card narrow">
    <h1>Create an account</h1>
    <${RoleTabs} role=${role} setRole=${setRole} />
    <form onSubmit=${(e) => run(formValues(e))}>
      <${Field} label="E-mail" name="email" type="email" autocomplete="username" required />
      <${Field} label="Password" name="password" type="password" autocomplete="new-password" required />
      ${role === "operator"
        ? html`<${Field} label="Company name" name="company_name" required maxlength="200" />`
        : html`
          <${Field} label="Agency name" name="agency_name" required maxlength="200" />
          <${Field} label="Country (ISO code, e.g. PT)" name="country" required maxlength="2" />
          <${Field} label="Phone (optional, e.g. +351912345678)" name="phone" type="tel" />`}
      <${ErrorBox} error=${error} />
      <${Submit} busy=${busy}>Create account</${Submit}>
    </form>
    <p><a href=${`#/login?as=${role}`}>I have an account</a></p>
  </section>`;
}

export function Confirm({ params }) {
  const role = params.get("as") === "operator" ? "operator" : "agent";
  const [email, setEmail] = useState(params.get("email") || "");
  const [notice, setNotice] = useState(params.get("email") ? "We e-mailed you a code." : "");
  const [run, busy, error] = useAction(async ({ code, password }) => {
    if (role === "operator") {
      await auth.confirmOperator(email, code);
      go("/operator/packages");
    } else {
      await auth.confirmAgent(email, password, code);
      go("/login?confirmed=1");
    }
  });
  const [resend, resending, resendError] = useAction(async () => {
    await (role === "operator" ? auth.resendOperatorCode : auth.resendAgentCode)(email);
    setNotice("If the address has an unconfirmed account, a new code is on its way.");
  });
  return html`<section class="card narrow">
    <h1>Confirm your account</h1>
    <${Notice}>${notice}</${Notice}>
    <form onSubmit=${(e) => run(formValues(e))}>
      <label>E-mail<input name="email" type="email" required value=${email}
        onInput=${(e) => setEmail(e.target.value.trim())} /></label>
      ${role === "agent" && html`<${Field} label="Password" name="password" type="password"
        autocomplete="current-password" required />`}
      <${Field} label="Code from the e-mail" name="code" required autocomplete="one-time-code" />
      <${ErrorBox} error=${error || resendError} />
      <div class="actions">
        <${Submit} busy=${busy}>Confirm</${Submit}>
        <button type="button" disabled=${resending || !email} onClick=${() => resend()}>Send a new code</button>
      </div>
    </form>
  </section>`;
}

export function Forgot({ params }) {
  const role = params.get("as") === "operator" ? "operator" : "agent";
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const [request, requesting, requestError] = useAction(async (values) => {
    await (role === "operator" ? auth.forgotOperatorPassword : auth.forgotAgentPassword)(values.email);
    setEmail(values.email);
    setSent(true);
  });
  const [reset, resetting, resetError] = useAction(async ({ code, new_password }) => {
    if (role === "operator") {
      await auth.resetOperatorPassword(email, code, new_password);
      go("/operator/packages");
    } else {
      await auth.resetAgentPassword(email, code, new_password);
      go("/login?reset=1");
    }
  });
  return html`<section class="card narrow">
    <h1>Reset your password</h1>
    ${!sent ? html`
      <form onSubmit=${(e) => request(formValues(e))}>
        <${Field} label="E-mail" name="email" type="email" required autocomplete="username" />
        <${ErrorBox} error=${requestError} />
        <${Submit} busy=${requesting}>E-mail me a code</${Submit}>
      </form>` : html`
      <${Notice}>If ${email} has an account, a code is on its way.</${Notice}>
      <form onSubmit=${(e) => reset(formValues(e))}>
        <${Field} label="Code from the e-mail" name="code" required autocomplete="one-time-code" />
        <${Field} label="New password" name="new_password" type="password" required autocomplete="new-password" />
        <${ErrorBox} error=${resetError} />
        <${Submit} busy=${resetting}>Set the new password</${Submit}>
      </form>`}
    <p><a href=${`#/login?as=${role}`}>Back to sign in</a></p>
  </section>`;
}

export function ChangePassword() {
  const [done, setDone] = useState(false);
  const [run, busy, error] = useAction(async ({ current_password, new_password }, form) => {
    await auth.changePassword(current_password, new_password);
    form.reset();
    setDone(true);
  });
  return html`<section class="card">
    <h2>Change password</h2>
    <form onSubmit=${(e) => run(formValues(e), e.target)}>
      <${Field} label="Current password" name="current_password" type="password" required autocomplete="current-password" />
      <${Field} label="New password" name="new_password" type="password" required autocomplete="new-password" />
      <${ErrorBox} error=${error} />
      ${done && html`<${Notice}>Your password was changed.</${Notice}>`}
      <${Submit} busy=${busy}>Change password</${Submit}>
    </form>
  </section>`;
}
