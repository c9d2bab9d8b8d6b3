import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { SmsSettings, SmsSettingsInput } from "../../ipc";
import SmsSettingsPanel from "./SmsSettingsPanel.svelte";

const saved: SmsSettings = {
  vendor: "aliyun",
  url: "",
  sign: "常宁市观摩会",
  has_key: true,
  key_id_masked: "LTAI…9xQk",
  template: "SMS_123456789",
  app_id: "",
  region: "",
};

function backend(testError: string | null) {
  const inputs: (SmsSettingsInput | null)[] = [];
  const tests: string[] = [];
  mockIPC((cmd, args) => {
    switch (cmd) {
      case "get_sms_settings":
        return saved;
      case "set_sms_settings": {
        const input = (args as { input: SmsSettingsInput | null }).input;
        inputs.push(input);
        return input ? { ...saved, vendor: input.vendor ?? "generic", template: input.template ?? "" } : null;
      }
      case "send_test_sms":
        tests.push((args as { phone: string }).phone);
        if (testError) throw { code: "validation", message: testError, problems: [] };
        return null;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return { inputs, tests };
}

afterEach(() => clearMocks());

describe("短信验证 settings", () => {
  it("shows the saved vendor with the key ID masked and keeps blank secrets", async () => {
    const { inputs } = backend(null);
    render(SmsSettingsPanel);
    expect((await screen.findByTestId("sms-state")).textContent).toContain("已开启(阿里云短信)");
    expect((screen.getByTestId("sms-key-id") as HTMLInputElement).placeholder).toBe("已保存 LTAI…9xQk,留空则不修改");
    expect((screen.getByTestId("sms-key") as HTMLInputElement).value).toBe("");
    await fireEvent.click(screen.getByTestId("sms-save"));
    await waitFor(() => expect(inputs).toHaveLength(1));
    expect(inputs[0]).toMatchObject({ vendor: "aliyun", key: null, key_id: null, template: "SMS_123456789", sign: "常宁市观摩会" });
  });

  it("腾讯云 asks for the SDK AppID, and another vendor's secrets are not offered as kept", async () => {
    backend(null);
    render(SmsSettingsPanel);
    const vendor = (await screen.findByTestId("sms-vendor")) as HTMLSelectElement;
    expect(screen.queryByTestId("sms-app-id")).toBeNull();
    await fireEvent.change(vendor, { target: { value: "tencent" } });
    expect(screen.getByTestId("sms-app-id")).toBeTruthy();
    expect((screen.getByTestId("sms-key-id") as HTMLInputElement).placeholder).toBe("必填");
    expect(screen.getByText("SecretKey")).toBeTruthy();
  });

  it("a test text the vendor refuses shows what to fix", async () => {
    const { tests } = backend("阿里云短信:签名校验失败:AccessKey Secret 不正确,请核对后重新填写(SignatureDoesNotMatch)");
    render(SmsSettingsPanel);
    await fireEvent.input(await screen.findByTestId("sms-test-phone"), { target: { value: "13812341234" } });
    await fireEvent.click(screen.getByTestId("sms-test"));
    await waitFor(() => expect(tests).toEqual(["13812341234"]));
    await waitFor(() => expect(document.body.textContent).toContain("AccessKey Secret 不正确"));
  });
});
