import { describe, it, expect } from "vitest";
import { validateVapiBody } from "../../dev/sandbox/json-schema";

const minimalAssistant = {
  name: "Front desk",
  firstMessage: "Hi, how can I help?",
  model: {
    provider: "openai",
    model: "gpt-4o-mini",
    messages: [{ role: "system", content: "x" }],
  },
  transcriber: { provider: "deepgram", model: "nova-3", language: "multi" },
  server: { url: "https://x", headers: { "X-Vapi-Secret": "s" } },
  metadata: { a: 1 },
};

describe("validateVapiBody: assistants", () => {
  it("accepts a minimal valid create-assistant body", () => {
    expect(validateVapiBody("CreateAssistantDTO", minimalAssistant)).toEqual([]);
  });

  it("refuses the legacy top-level serverUrl", () => {
    const errors = validateVapiBody("CreateAssistantDTO", { ...minimalAssistant, serverUrl: "https://x" });
    expect(errors).toEqual(["property serverUrl should not exist"]);
  });

  it("refuses the legacy top-level serverUrlSecret", () => {
    const errors = validateVapiBody("CreateAssistantDTO", { ...minimalAssistant, serverUrlSecret: "s" });
    expect(errors).toEqual(["property serverUrlSecret should not exist"]);
  });

  it("refuses server.secret, with NestJS's parent-path prefix", () => {
    const errors = validateVapiBody("CreateAssistantDTO", {
      ...minimalAssistant,
      server: { url: "https://x", secret: "s" },
    });
    expect(errors).toEqual(["server.property secret should not exist"]);
  });

  it("refuses unknown keys deep inside the model", () => {
    const errors = validateVapiBody("UpdateAssistantDTO", {
      model: { provider: "openai", model: "gpt-4o-mini", messages: [{ role: "system", content: "x", foo: 1 }] },
    });
    expect(errors).toEqual(["model.messages.0.property foo should not exist"]);
  });

  it("refuses a name longer than 40 characters", () => {
    const errors = validateVapiBody("CreateAssistantDTO", { ...minimalAssistant, name: "a".repeat(41) });
    expect(errors).toEqual(["name must be shorter than or equal to 40 characters"]);
    expect(validateVapiBody("CreateAssistantDTO", { ...minimalAssistant, name: "a".repeat(40) })).toEqual([]);
  });

  it("refuses type, enum and range violations", () => {
    const errors = validateVapiBody("UpdateAssistantDTO", {
      name: 5,
      maxDurationSeconds: "600",
      firstMessageMode: "shout",
    });
    expect(errors).toContain("name must be a string");
    expect(errors).toContain("maxDurationSeconds must be a number conforming to the specified constraints");
    expect(errors).toContain(
      "firstMessageMode must be one of the following values: assistant-speaks-first, assistant-speaks-first-with-model-generated-message, assistant-waits-for-user",
    );
    expect(validateVapiBody("UpdateAssistantDTO", { maxDurationSeconds: 5 })).toEqual(["maxDurationSeconds must not be less than 10"]);
  });

  it("refuses null unless the property is nullable", () => {
    expect(validateVapiBody("UpdateAssistantDTO", { name: null })).toEqual(["name must be a string"]);
    const nullContent = {
      model: { provider: "openai", model: "gpt-4o-mini", messages: [{ role: "assistant", content: null }] },
    };
    expect(validateVapiBody("UpdateAssistantDTO", nullContent)).toEqual([]);
  });

  it("accepts a function tool in model.tools", () => {
    const body = {
      ...minimalAssistant,
      model: {
        ...minimalAssistant.model,
        tools: [
          {
            type: "function",
            async: false,
            function: {
              name: "book_slot",
              parameters: { type: "object", properties: { when: { type: "string" } }, required: ["when"] },
            },
            server: { url: "https://x/tools" },
          },
        ],
      },
    };
    expect(validateVapiBody("CreateAssistantDTO", body)).toEqual([]);
  });

  it("accepts a transferCall tool with a number destination", () => {
    const body = {
      ...minimalAssistant,
      model: {
        ...minimalAssistant.model,
        tools: [
          {
            type: "transferCall",
            destinations: [
              { type: "number", number: "+14155550123", message: "Transferring you now", transferPlan: { mode: "blind-transfer" } },
            ],
          },
        ],
      },
    };
    expect(validateVapiBody("CreateAssistantDTO", body)).toEqual([]);
  });

  it("refuses unknown keys inside a function tool", () => {
    const body = {
      model: {
        provider: "openai",
        model: "gpt-4o-mini",
        tools: [{ type: "function", function: { name: "f", description: "d", bogus: true } }],
      },
    };
    expect(validateVapiBody("UpdateAssistantDTO", body)).toEqual(["model.tools.0.function.property bogus should not exist"]);
  });

  it("accepts providers and tool types outside the trimmed subset", () => {
    const body = {
      model: { provider: "anthropic", model: "claude-whatever", anything: 1 },
      voice: { provider: "cartesia", voiceId: "v" },
    };
    expect(validateVapiBody("UpdateAssistantDTO", body)).toEqual([]);
  });
});

describe("validateVapiBody: phone numbers", () => {
  it("refuses a 4-digit numberDesiredAreaCode", () => {
    const errors = validateVapiBody("CreateVapiPhoneNumberDTO", { provider: "vapi", numberDesiredAreaCode: "4155" });
    expect(errors).toEqual(["numberDesiredAreaCode must be shorter than or equal to 3 characters"]);
  });

  it("refuses a 2-digit numberDesiredAreaCode", () => {
    const errors = validateVapiBody("CreateVapiPhoneNumberDTO", { provider: "vapi", numberDesiredAreaCode: "41" });
    expect(errors).toEqual(["numberDesiredAreaCode must be longer than or equal to 3 characters"]);
  });

  it("accepts a Vapi number with area code, name, assistant and server", () => {
    const body = { provider: "vapi", numberDesiredAreaCode: "415", name: "x", assistantId: "a", server: { url: "u" } };
    expect(validateVapiBody("CreateVapiPhoneNumberDTO", body)).toEqual([]);
  });

  it("refuses a Vapi number with the wrong provider", () => {
    expect(validateVapiBody("CreateVapiPhoneNumberDTO", { provider: "twilio" })).toEqual([
      "provider must be one of the following values: vapi",
    ]);
    expect(validateVapiBody("CreateVapiPhoneNumberDTO", {})).toEqual(["provider must be one of the following values: vapi"]);
  });

  it("refuses a Twilio import without twilioAccountSid", () => {
    const errors = validateVapiBody("CreateTwilioPhoneNumberDTO", {
      provider: "twilio",
      number: "+14155550123",
      twilioAuthToken: "t",
    });
    expect(errors).toEqual(["twilioAccountSid must be a string"]);
    expect(
      validateVapiBody("CreateTwilioPhoneNumberDTO", {
        provider: "twilio",
        number: "+14155550123",
        twilioAccountSid: "AC123",
        twilioAuthToken: "t",
      }),
    ).toEqual([]);
  });

  it("refuses numberDesiredAreaCode on update (UpdateVapiPhoneNumberDTO has no such property)", () => {
    const errors = validateVapiBody("UpdateVapiPhoneNumberDTO", { numberDesiredAreaCode: "415" });
    expect(errors).toEqual(["property numberDesiredAreaCode should not exist"]);
    expect(validateVapiBody("UpdateVapiPhoneNumberDTO", { name: "x", assistantId: "a" })).toEqual([]);
  });

  it("validates a fallback destination by its type", () => {
    expect(validateVapiBody("UpdateTwilioPhoneNumberDTO", { fallbackDestination: { type: "number", number: "+14155550123" } })).toEqual([]);
    expect(validateVapiBody("UpdateTwilioPhoneNumberDTO", { fallbackDestination: { type: "sip" } })).toEqual([
      "fallbackDestination.sipUri must be a string",
    ]);
    expect(validateVapiBody("UpdateTwilioPhoneNumberDTO", { fallbackDestination: "+14155550123" })).toEqual([
      "nested property fallbackDestination must be either object or array",
    ]);
  });

  it("refuses a body that is not an object", () => {
    expect(validateVapiBody("UpdateVapiPhoneNumberDTO", [])).toHaveLength(1);
    expect(validateVapiBody("UpdateVapiPhoneNumberDTO", null)).toHaveLength(1);
  });
});
