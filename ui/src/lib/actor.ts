/** Who did something, as the backend records it: the device part — `organiser` (the hub, or a
 * laptop used on its own), `resident`, or a laptop as `<role>@<device id>` (`media@…`,
 * `scorer@…`) — followed by `|<person id>|<name>` when someone was signed in (谁在操作). */
const ROLE_LABELS: Record<string, string> = {
  organiser: "组织方",
  resident: "市民",
  media: "直播电脑",
  scorer: "评分电脑",
  hub: "组织方",
};

/** Name of the person no one signed in as (the backend's 未指定). */
const UNASSIGNED_NAME = "未指定";

/** The device part in Chinese; null when it is not one the app writes. A laptop also shows the
 * end of its device id (as the 同步 view's device list does), so two 直播电脑 can be told apart. */
function deviceLabel(device: string): string | null {
  const at = device.indexOf("@");
  if (at > 0) {
    const role = ROLE_LABELS[device.slice(0, at)];
    const id = device.slice(at + 1);
    return role && id ? `${role}(…${id.slice(-6)})` : null;
  }
  return ROLE_LABELS[device] ?? null;
}

/** The actor in Chinese: `张三 · 组织方`, `张三 · 评分电脑(…abc123)`; a device with no one signed in
 * `未指定 · 组织方`; residents stay 市民; anything else (a name typed by a person) as it is. */
export function actorLabel(actor: string): string {
  if (actor === "resident") return ROLE_LABELS.resident;
  const [device, , name] = actor.split("|");
  const where = deviceLabel(device);
  if (where === null) return actor;
  const who = name?.trim() || UNASSIGNED_NAME;
  return `${who} · ${where}`;
}
