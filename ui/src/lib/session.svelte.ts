//! Who is at the keyboard (谁在操作), for the whole window: the backend's session, read at start
//! and after every sign-in, sign-out and refusal. The window shows the sign-in screen whenever
//! this computer asks who is working and no one is signed in; a view whose command failed with
//! `sign_in_required` (the backend locked on its own) hands the error to `noticeError`.
import { call, commands, errorOf, type ApiError, type SessionView } from "../ipc";
import { needsSignIn } from "../features/people/people";

class Session {
  /** The backend's answer; null until read (or when it could not be read). */
  view: SessionView | null = $state(null);
  /** The sign-in screen is shown. */
  readonly locked = $derived(needsSignIn(this.view));
  /** Someone is signed in on a computer that asks who is working (the idle lock applies). */
  readonly signedIn = $derived(this.view !== null && this.view.required && this.view.person !== null);

  /** Reads the session again; a failure leaves what is shown. */
  async refresh(): Promise<void> {
    try {
      this.apply(await call(commands.getSession()));
    } catch {
      // Nothing better to show than the last answer; the next command will tell.
    }
  }

  /** A sign-in, sign-out or setting answered with the session. */
  apply(view: SessionView | null): void {
    if (view) this.view = view;
  }

  /** Locks the window now, before the backend has answered (it refused a command). */
  #lockHere(): void {
    if (this.view) this.view = { ...this.view, required: true, person: null };
  }

  /**
   * For any failed command: `sign_in_required` means no one is signed in any more, so the
   * sign-in screen comes up. True when the error was that one (the view need not show it).
   */
  noticeError(error: ApiError | null): boolean {
    if (error?.code !== "sign_in_required") return false;
    this.#lockHere();
    void this.refresh();
    return true;
  }

  /** 切换用户 (`idle` false) or the idle lock (`idle` true). */
  async signOut(idle: boolean): Promise<void> {
    try {
      this.apply(await call(commands.signOut(idle)));
    } catch {
      this.#lockHere();
    }
  }

  /** The person is still there. */
  async keepAlive(): Promise<void> {
    try {
      this.apply(await call(commands.keepAlive()));
    } catch (e) {
      this.noticeError(errorOf(e));
    }
  }
}

/** The one instance of this window. */
export const session = new Session();
