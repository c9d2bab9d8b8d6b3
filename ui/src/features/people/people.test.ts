import { describe, expect, it } from "vitest";
import {
  actsAsOrganiser,
  cleanPersonInput,
  digestGroups,
  lockedNow,
  needsSignIn,
  newPinProblem,
  normalizeCode,
  pinProblem,
  rolesText,
  sessionLabel,
  signInEventLabel,
  sortRoles,
  unitAndTitle,
} from "./people";
import { DIGEST, choice, person, sessionView } from "./fixtures";

describe("roles", () => {
  it("are sent in the backend's order without repeats and shown in Chinese", () => {
    expect(sortRoles(["liaison", "monitor", "organiser", "monitor"])).toEqual(["organiser", "monitor", "liaison"]);
    expect(rolesText(["counter", "scorer"])).toBe("评分人、计票人");
    expect(rolesText([])).toBe("—");
  });

  it("name who is signed in with their roles", () => {
    expect(sessionLabel(person())).toBe("当前:张三(组织方)");
    expect(sessionLabel(person({ roles: ["monitor", "organiser"] }))).toBe("当前:张三(组织方、监票人)");
    expect(unitAndTitle({ work_unit: "市委办公室", title: "" })).toBe("市委办公室");
  });
});

describe("the sign-in screen", () => {
  it("is shown only where the computer asks who is working and no one is signed in", () => {
    expect(needsSignIn(null)).toBe(false);
    expect(needsSignIn(sessionView())).toBe(true);
    expect(needsSignIn(sessionView({ person: person() }))).toBe(false);
    expect(needsSignIn(sessionView({ required: false }))).toBe(false);
  });

  it("checks a PIN is six digits and that a new one was typed twice the same", () => {
    expect(pinProblem("205817")).toBeNull();
    expect(pinProblem("20581")).toBe("PIN 须为 6 位数字");
    expect(pinProblem("20581a")).toBe("PIN 须为 6 位数字");
    expect(newPinProblem("205817", "205817")).toBeNull();
    expect(newPinProblem("205817", "205818")).toContain("不一致");
    expect(newPinProblem("2058", "2058")).toBe("PIN 须为 6 位数字");
  });

  it("sends a code without the spaces people type, upper-cased", () => {
    expect(normalizeCode(" ab12 cd34 ")).toBe("AB12CD34");
    expect(normalizeCode("AB12-CD34")).toBe("AB12CD34");
  });

  it("knows a sign-in locked until a later time", () => {
    const now = Date.parse("2024-12-04T02:00:00Z");
    expect(lockedNow(choice({ locked_until: "2024-12-04T02:05:00Z" }), now)).toBe(true);
    expect(lockedNow(choice({ locked_until: "2024-12-04T01:55:00Z" }), now)).toBe(false);
    expect(lockedNow(choice(), now)).toBe(false);
  });
});

describe("the person form", () => {
  it("sends trimmed text, sorted roles, and a scorer only for a 评分人", () => {
    const input = { name: " 张三 ", work_unit: "市委办 ", title: "", roles: ["monitor", "scorer"] as const, scorer_id: "s-1", active: true };
    expect(cleanPersonInput({ ...input, roles: [...input.roles] })).toEqual({
      name: "张三",
      work_unit: "市委办",
      title: "",
      roles: ["scorer", "monitor"],
      scorer_id: "s-1",
      active: true,
    });
    expect(cleanPersonInput({ ...input, roles: ["monitor"] }).scorer_id).toBeNull();
  });
});

describe("揭晓", () => {
  it("shows the digest in groups of 8", () => {
    expect(digestGroups(DIGEST)).toHaveLength(8);
    expect(digestGroups(DIGEST)[0]).toBe("01234567");
    expect(digestGroups("0123456789")).toEqual(["01234567", "89"]);
  });

  it("gives the buttons to the organiser, and to a computer that does not ask who works", () => {
    expect(actsAsOrganiser(sessionView({ person: person() }))).toBe(true);
    expect(actsAsOrganiser(sessionView({ person: person({ roles: ["monitor"] }) }))).toBe(false);
    expect(actsAsOrganiser(sessionView({ required: false }))).toBe(true);
    expect(actsAsOrganiser(null)).toBe(false);
  });

  it("names the sign-in log's events in Chinese", () => {
    expect(signInEventLabel("wrong_pin")).toBe("PIN错误");
    expect(signInEventLabel("idle_lock")).toBe("闲置锁定");
    expect(signInEventLabel("new_thing")).toBe("new_thing");
  });
});
