import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { checkMark } from "./scoring";
import {
  blockers,
  emptyField,
  isIncomplete,
  keyAction,
  prepareSubmit,
  saveStatus,
  scoredCount,
  stepMark,
  storedField,
  submitLabel,
  type MarkField,
  type MarkSpec,
} from "./markInput";

const crit = (key: string, max: number): MarkSpec => ({ key, max, required: true, limitWord: "分值" });
const adj = (key: string, max: number): MarkSpec => ({ key, max, required: false, limitWord: "上限" });

describe("the messages a scorer sees, in Chinese", () => {
  it("says the limit, one decimal at most, a number, not negative", () => {
    expect(checkMark("10", 8)).toEqual({ ok: false, message: "超过分值8分" });
    expect(checkMark("8.1", 8)).toEqual({ ok: false, message: "超过分值8分" });
    expect(checkMark("4", 3, "上限")).toEqual({ ok: false, message: "超过上限3分" });
    expect(checkMark("7.55", 8)).toEqual({ ok: false, message: "最多一位小数" });
    expect(checkMark("abc", 8)).toEqual({ ok: false, message: "请输入数字" });
    expect(checkMark(".", 8)).toEqual({ ok: false, message: "请输入数字" });
    expect(checkMark("1e1", 20)).toEqual({ ok: false, message: "请输入数字" });
    expect(checkMark("-1", 8)).toEqual({ ok: false, message: "不能为负数" });
    expect(checkMark("-", 8)).toEqual({ ok: false, message: "不能为负数" });
  });
  it("accepts what a Chinese input method types: full-width digits and 。 as the point", () => {
    expect(checkMark("８．５", 10)).toEqual({ ok: true, value: 8.5 });
    expect(checkMark("7。5", 10)).toEqual({ ok: true, value: 7.5 });
    expect(checkMark("-0", 10)).toEqual({ ok: true, value: 0 });
  });
  it("the red message appears while typing once no further key can fix it", () => {
    const spec = crit("c:1", 8);
    const typed = (text: string) => stepMark(emptyField(), { type: "edit", text }, spec).field.error;
    expect(typed("1")).toBeNull();
    expect(typed("10")).toBe("超过分值8分");
    expect(typed("7.55")).toBe("最多一位小数");
    expect(typed("x")).toBe("请输入数字");
    // "." may become ".5": not wrong yet, but wrong when committed as it is.
    expect(isIncomplete(".")).toBe(true);
    expect(typed(".")).toBeNull();
    expect(stepMark({ text: ".", value: null, error: null }, { type: "commit" }, spec).field.error).toBe("请输入数字");
  });
  it("the 提交 button counts what is left, and the save line never claims 已保存 too early", () => {
    expect(submitLabel(0)).toBe("提交");
    expect(submitLabel(3)).toBe("还有3项未打分/有误");
    const base = { failed: null, invalid: 0, saving: false, pending: false, savedAt: "10:00:00" };
    expect(saveStatus(base)).toEqual({ text: "已保存 10:00:00", bad: false });
    expect(saveStatus({ ...base, invalid: 2 })).toEqual({ text: "2项有误,未保存", bad: true });
    expect(saveStatus({ ...base, pending: true }).text).toBe("未保存:按回车保存");
    expect(saveStatus({ ...base, saving: true }).text).toBe("保存中…");
    expect(saveStatus({ ...base, failed: "评分表已提交" })).toEqual({ text: "未保存:评分表已提交", bad: true });
  });
});

describe("the save rule", () => {
  it("typing 1 then 0 on a max-8 criterion saves nothing and leaves the earlier mark stored", () => {
    const spec = crit("c:1", 8);
    let field = storedField(5);
    for (const text of ["", "1", "10"]) {
      const step = stepMark(field, { type: "edit", text }, spec);
      expect(step.save).toBeNull();
      field = step.field;
    }
    expect(field.error).toBe("超过分值8分");
    const commit = stepMark(field, { type: "commit" }, spec);
    expect(commit.save).toBeNull();
    expect(commit.field).toEqual({ text: "10", value: 5, error: "超过分值8分" });
    expect(blockers({ "c:1": commit.field }, [spec])).toEqual([{ key: "c:1", reason: "invalid" }]);
    expect(scoredCount({ "c:1": commit.field }, [spec])).toEqual({ scored: 0, total: 1 });
  });
  it("a commit saves a new valid value once, normalised as the backend stores it", () => {
    const spec = crit("c:1", 8);
    const typed = stepMark(emptyField(), { type: "edit", text: "7.50" }, spec).field;
    const first = stepMark(typed, { type: "commit" }, spec);
    expect(first.save).toEqual({ value: 7.5 });
    expect(first.field).toEqual({ text: "7.5", value: 7.5, error: null });
    // Enter then the blur of moving on: the second commit sends nothing.
    expect(stepMark(first.field, { type: "commit" }, spec).save).toBeNull();
  });
  it("clearing a field and committing clears the mark", () => {
    const spec = crit("c:1", 8);
    const cleared = stepMark(storedField(6), { type: "edit", text: "" }, spec).field;
    expect(stepMark(cleared, { type: "commit" }, spec).save).toEqual({ value: null });
  });
  it("a refusal from the backend keeps what it holds and shows its reason", () => {
    const spec = crit("c:1", 8);
    const field: MarkField = { text: "6", value: 6, error: null };
    const refused = stepMark(field, { type: "refused", message: "评分已结束", stored: 4 }, spec).field;
    expect(refused).toEqual({ text: "6", value: 4, error: "评分已结束" });
    expect(blockers({ "c:1": refused }, [spec])[0].reason).toBe("invalid");
  });
  it("提交 commits the field still being typed in, and is refused while one is empty", () => {
    const specs = [crit("c:1", 8), crit("c:2", 6), adj("a:1", 3)];
    const fields = { "c:1": storedField(8), "c:2": { text: "5", value: null, error: null } };
    const ready = prepareSubmit(fields, specs);
    expect(ready.saves).toEqual([{ key: "c:2", value: 5 }]);
    expect(ready.blocked).toEqual([]);
    const missing = prepareSubmit({ "c:1": storedField(8) }, specs);
    expect(missing.blocked).toEqual([{ key: "c:2", reason: "empty" }]);
  });
});

describe("keys", () => {
  const key = (k: Partial<KeyboardEvent>) =>
    keyAction({ key: "", code: "", ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, isComposing: false, ...k });
  it("Enter and ↓ go on, ↑ and Shift+Enter go back, Ctrl+Enter submits, Alt+E/Alt+N reach 证据/备注", () => {
    expect(key({ key: "Enter" })).toBe("next");
    expect(key({ key: "ArrowDown" })).toBe("next");
    expect(key({ key: "ArrowUp" })).toBe("prev");
    expect(key({ key: "Enter", shiftKey: true })).toBe("prev");
    expect(key({ key: "Enter", ctrlKey: true })).toBe("submit");
    expect(key({ key: "Enter", metaKey: true })).toBe("submit");
    expect(key({ key: "e", code: "KeyE", altKey: true })).toBe("evidence");
    expect(key({ key: "n", code: "KeyN", altKey: true })).toBe("note");
    expect(key({ key: "5" })).toBeNull();
    expect(key({ key: "Tab" })).toBeNull();
  });
  it("an Enter that ends a Chinese input method's composition is the IME's", () => {
    expect(key({ key: "Enter", isComposing: true })).toBeNull();
    expect(key({ key: "Process" })).toBeNull();
  });
});

// ---- Property test: random keystrokes on a small sheet, against a backend that stores what it is sent.

type Action =
  | { t: "type"; ch: string }
  | { t: "backspace" }
  | { t: "paste"; text: string }
  /** A scorer who knows the mark: a valid value, then Enter. */
  | { t: "fill"; tenths: number }
  | { t: "commit"; how: "enter" | "down" | "up" | "tab" | "blur" }
  | { t: "focus"; index: number }
  | { t: "refuseNext" }
  | { t: "submit" };

const SPECS: MarkSpec[] = [crit("c:0", 8), crit("c:1", 6), crit("c:2", 10), crit("c:3", 3.5), adj("a:0", 3)];

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("0", "1", "2", "3", "4", "5", "6", "7", "8", "9").map((ch) => ({ t: "type" as const, ch })) },
  { weight: 2, arbitrary: fc.constantFrom(".", "．", "。", "-", "a", " ", "５").map((ch) => ({ t: "type" as const, ch })) },
  { weight: 2, arbitrary: fc.constant({ t: "backspace" as const }) },
  {
    weight: 2,
    // Over the maximum, two decimals, and values that are fine.
    arbitrary: fc
      .oneof(
        fc.integer({ min: 9, max: 120 }).map(String),
        fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 99 })).map(([a, b]) => `${a}.${String(b).padStart(2, "0")}`),
        fc.integer({ min: 0, max: 80 }).map((n) => String(n / 10)),
        fc.constant(""),
      )
      .map((text) => ({ t: "paste" as const, text })),
  },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 100 }).map((tenths) => ({ t: "fill" as const, tenths })) },
  { weight: 4, arbitrary: fc.constantFrom("enter", "down", "up", "tab", "blur").map((how) => ({ t: "commit" as const, how })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: SPECS.length - 1 }).map((index) => ({ t: "focus" as const, index })) },
  { weight: 1, arbitrary: fc.constant({ t: "refuseNext" as const }) },
  { weight: 2, arbitrary: fc.constant({ t: "submit" as const }) },
);

/** Drives the rule the way SheetPanel does, and checks every save and every 提交 against the typed text. */
function run(actions: Action[]) {
  let fields: Record<string, MarkField> = { "c:0": storedField(5) };
  const db: Record<string, number | null> = { "c:0": 5 };
  let focus = 0;
  let refuseNext = false;
  const stored = (key: string) => db[key] ?? null;
  const field = (key: string) => fields[key] ?? emptyField();

  /** The backend: every value it gets must be one a scorer could have meant. */
  function receive(spec: MarkSpec, value: number | null) {
    if (value !== null) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(Math.round(value * 10)).toBeLessThanOrEqual(Math.round(spec.max * 10));
      expect(Math.abs(value * 10 - Math.round(value * 10))).toBeLessThan(1e-9);
    }
    if (refuseNext) {
      refuseNext = false;
      fields[spec.key] = stepMark(field(spec.key), { type: "refused", message: "评分已结束", stored: stored(spec.key) }, spec).field;
      return;
    }
    db[spec.key] = value;
  }

  function commit(index: number) {
    const spec = SPECS[index];
    const before = field(spec.key);
    const typed = checkMark(before.text, spec.max, spec.limitWord);
    const step = stepMark(before, { type: "commit" }, spec);
    fields[spec.key] = step.field;
    if (!typed.ok) {
      // Invalid: red, nothing sent, the stored value untouched.
      expect(step.save).toBeNull();
      expect(step.field.error).toBe(typed.message);
      expect(step.field.value).toBe(before.value);
    } else if (step.save) {
      // Sent: exactly what the text said when it was committed.
      expect(step.save.value).toBe(typed.value);
      receive(spec, step.save.value);
    } else {
      expect(typed.value).toBe(before.value);
    }
  }

  function edit(text: string) {
    const spec = SPECS[focus];
    const step = stepMark(field(spec.key), { type: "edit", text }, spec);
    expect(step.save).toBeNull(); // keys never save
    fields[spec.key] = step.field;
  }

  for (const a of actions) {
    switch (a.t) {
      case "type":
        edit(field(SPECS[focus].key).text + a.ch);
        break;
      case "backspace":
        edit(field(SPECS[focus].key).text.slice(0, -1));
        break;
      case "paste":
        edit(a.text);
        break;
      case "fill":
      case "commit": {
        if (a.t === "fill") edit(String(Math.min(a.tenths, SPECS[focus].max * 10) / 10));
        const how = a.t === "fill" ? "enter" : a.how;
        commit(focus);
        const stays = field(SPECS[focus].key).error !== null && how !== "tab" && how !== "blur";
        if (!stays && (how === "enter" || how === "down" || how === "tab")) focus = Math.min(focus + 1, SPECS.length - 1);
        if (!stays && how === "up") focus = Math.max(focus - 1, 0);
        break;
      }
      case "focus":
        commit(focus); // leaving a field commits it
        focus = a.index;
        break;
      case "refuseNext":
        refuseNext = true;
        break;
      case "submit": {
        // Independent oracle: what the scorer sees must all be valid, and every criterion filled.
        // (A field the backend refused is sent again: 提交 commits every field.)
        const wrong = SPECS.some((s) => {
          const c = checkMark(field(s.key).text, s.max, s.limitWord);
          return !c.ok || (s.required && c.value === null);
        });
        const prep = prepareSubmit(fields, SPECS);
        fields = prep.fields;
        for (const s of prep.saves) receive(SPECS.find((x) => x.key === s.key)!, s.value);
        const refusedMeanwhile = blockers(fields, SPECS).length > 0;
        if (wrong) expect(prep.blocked.length).toBeGreaterThan(0);
        if (prep.blocked.length === 0 && !refusedMeanwhile) {
          // Accepted: what the sheet shows is what is stored, every criterion marked.
          for (const s of SPECS) {
            const c = checkMark(field(s.key).text, s.max, s.limitWord);
            expect(c.ok).toBe(true);
            if (c.ok) expect(c.value).toBe(stored(s.key));
            if (s.required) expect(stored(s.key)).not.toBeNull();
          }
        }
        break;
      }
    }
    // The committed value is always what the backend holds.
    for (const s of SPECS) expect(field(s.key).value).toBe(stored(s.key));
    // The 提交 count is exactly the empty criteria plus the invalid fields.
    const n = blockers(fields, SPECS).length;
    expect(submitLabel(n)).toBe(n > 0 ? `还有${n}项未打分/有误` : "提交");
  }
}

describe("the save rule, on random keystrokes (fast-check)", () => {
  it("sends only values that were valid and complete when committed; invalid fields never send; 提交 refuses while any is invalid or empty", () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80, size: "max" }), (actions) => run(actions)),
      { numRuns: 600 },
    );
  });

  it("typing digits one by one never sends a prefix of the number being typed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 100 }), (n, max) => {
        const spec = crit("c:x", max);
        let field = emptyField();
        for (const ch of String(n)) {
          const step = stepMark(field, { type: "edit", text: field.text + ch }, spec);
          expect(step.save).toBeNull();
          field = step.field;
        }
        const step = stepMark(field, { type: "commit" }, spec);
        expect(step.save).toEqual(n <= max ? { value: n } : null);
        if (n > max) expect(step.field.error).toBe(`超过分值${max}分`);
      }),
    );
  });
});
