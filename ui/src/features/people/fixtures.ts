//! Test data for 人员, 谁在操作 and 揭晓.
import type { Person, PersonView, SessionView, SignInChoice, TallyStatus } from "../../ipc";

export function person(over: Partial<Person> = {}): Person {
  return { id: "p-zs", name: "张三", work_unit: "市委办公室", title: "副主任", roles: ["organiser"], scorer_id: null, active: true, version: 1, ...over };
}

export function choice(over: Partial<SignInChoice> = {}): SignInChoice {
  return { id: "p-zs", name: "张三", work_unit: "市委办公室", title: "副主任", roles: ["organiser"], has_pin: true, locked_until: null, ...over };
}

export function sessionView(over: Partial<SessionView> = {}): SessionView {
  return {
    required: true,
    person: null,
    idle_minutes: 10,
    choices: [choice(), choice({ id: "p-ls", name: "李四", work_unit: "市财政局", title: "科长", roles: ["scorer"], has_pin: false })],
    ...over,
  };
}

export function personView(p: Partial<Person> = {}, over: Partial<PersonView> = {}): PersonView {
  return { person: person(p), scorer_name: null, has_pin_here: false, code_expires_at: null, ...over };
}

export const DIGEST = "0123456789abcdef".repeat(4);

export function tally(over: Partial<TallyStatus> = {}): TallyStatus {
  return { expected: 6, submitted: 4, complete: false, seal: null, revealed: false, ...over };
}
