/** Who did something, as the backend records it: `organiser` (the hub, or a laptop used on its
 * own), `resident`, or a laptop as `<role>@<device id>` (`media@…`, `scorer@…`). */
const ROLE_LABELS: Record<string, string> = {
  organiser: "组织方",
  resident: "市民",
  media: "直播电脑",
  scorer: "评分电脑",
  hub: "组织方",
};

/** The actor in Chinese: a role name becomes its label; a laptop also shows the end of its
 * device id (as the 同步 view's device list does), so two 直播电脑 can be told apart. */
export function actorLabel(actor: string): string {
  const at = actor.indexOf("@");
  if (at > 0) {
    const role = ROLE_LABELS[actor.slice(0, at)];
    const device = actor.slice(at + 1);
    if (role && device) return `${role}(…${device.slice(-6)})`;
  }
  return ROLE_LABELS[actor] ?? actor;
}
