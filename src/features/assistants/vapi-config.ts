import type { VapiAssistantInput, VapiFunctionTool, VapiServer, VapiTransferCallTool } from "../../integrations/vapi";
import type { BusinessData } from "./business-data";

/** Languages a receptionist can speak: each is a Deepgram transcriber language Vapi accepts. */
export const SUPPORTED_LANGUAGES = [
  "en",
  "es",
  "fr",
  "de",
  "it",
  "pt",
  "nl",
  "pl",
  "ru",
  "tr",
  "sv",
  "da",
  "no",
  "fi",
  "hi",
  "ja",
  "ko",
  "zh",
  "vi",
  "uk",
] as const;
export type Language = (typeof SUPPORTED_LANGUAGES)[number];

const LANGUAGE_NAMES: Record<Language, string> = {
  en: "English",
  es: "Spanish",
  fr: "French",
  de: "German",
  it: "Italian",
  pt: "Portuguese",
  nl: "Dutch",
  pl: "Polish",
  ru: "Russian",
  tr: "Turkish",
  sv: "Swedish",
  da: "Danish",
  no: "Norwegian",
  fi: "Finnish",
  hi: "Hindi",
  ja: "Japanese",
  ko: "Korean",
  zh: "Chinese",
  vi: "Vietnamese",
  uk: "Ukrainian",
};

/** "Thank you for calling {business}. How can I help you today?" in the business's first language. */
const GREETINGS: Record<Language, (business: string) => string> = {
  en: (b) => `Thank you for calling ${b}. How can I help you today?`,
  es: (b) => `Gracias por llamar a ${b}. ¿En qué puedo ayudarle hoy?`,
  fr: (b) => `Merci d'avoir appelé ${b}. Comment puis-je vous aider aujourd'hui ?`,
  de: (b) => `Vielen Dank für Ihren Anruf bei ${b}. Wie kann ich Ihnen heute helfen?`,
  it: (b) => `Grazie per aver chiamato ${b}. Come posso aiutarla oggi?`,
  pt: (b) => `Obrigado por ligar para ${b}. Como posso ajudar hoje?`,
  nl: (b) => `Bedankt voor het bellen naar ${b}. Waarmee kan ik u vandaag helpen?`,
  pl: (b) => `Dziękujemy za telefon do ${b}. W czym mogę dziś pomóc?`,
  ru: (b) => `Спасибо, что позвонили в ${b}. Чем я могу помочь?`,
  tr: (b) => `${b} firmasını aradığınız için teşekkürler. Size nasıl yardımcı olabilirim?`,
  sv: (b) => `Tack för att du ringer ${b}. Hur kan jag hjälpa dig i dag?`,
  da: (b) => `Tak fordi du ringer til ${b}. Hvordan kan jeg hjælpe dig i dag?`,
  no: (b) => `Takk for at du ringer ${b}. Hvordan kan jeg hjelpe deg i dag?`,
  fi: (b) => `Kiitos, että soitit yritykseen ${b}. Miten voin auttaa?`,
  hi: (b) => `${b} को कॉल करने के लिए धन्यवाद। मैं आज आपकी क्या मदद कर सकता हूँ?`,
  ja: (b) => `${b}にお電話いただきありがとうございます。本日はどのようなご用件でしょうか?`,
  ko: (b) => `${b}에 전화해 주셔서 감사합니다. 무엇을 도와드릴까요?`,
  zh: (b) => `感谢致电${b}。请问今天有什么可以帮您?`,
  vi: (b) => `Cảm ơn quý khách đã gọi đến ${b}. Tôi có thể giúp gì cho quý khách?`,
  uk: (b) => `Дякуємо, що зателефонували до ${b}. Чим я можу допомогти?`,
};

const DAY_NAMES = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
} as const;

const OPENAI_MODEL = "gpt-4o-mini";
/** Vapi limits an assistant's name to 40 characters. */
const VAPI_NAME_MAX = 40;

export interface EmergencyContact {
  name: string;
  phone: string;
}

interface AssistantConfigInput {
  assistantId: string;
  orgId: string;
  name: string;
  businessData: BusinessData;
  languages: Language[];
  emergencyContact: EmergencyContact | null;
  webhookUrl: string;
  webhookSecret: string;
}

export const TOOL_CHECK_AVAILABILITY = "check_availability";
export const TOOL_BOOK_APPOINTMENT = "book_appointment";

/** The Vapi assistant (CreateAssistantDTO) for a business's receptionist. */
export function buildVapiAssistant(input: AssistantConfigInput): VapiAssistantInput {
  const business = input.businessData;
  const firstLanguage = input.languages[0] ?? "en";
  const server: VapiServer = { url: input.webhookUrl, headers: { "X-Vapi-Secret": input.webhookSecret } };
  return {
    name: input.name.slice(0, VAPI_NAME_MAX),
    firstMessage: GREETINGS[firstLanguage](business.business_name),
    firstMessageMode: "assistant-speaks-first",
    model: {
      provider: "openai",
      model: OPENAI_MODEL,
      temperature: 0.4,
      messages: [{ role: "system", content: systemPrompt(business, input.languages, input.emergencyContact) }],
      tools: assistantTools(server, business, input.emergencyContact),
    },
    transcriber:
      input.languages.length > 1
        ? { provider: "deepgram", model: "nova-3", language: "multi" }
        : { provider: "deepgram", model: "nova-3", language: firstLanguage },
    server,
    serverMessages: ["end-of-call-report", "status-update", "tool-calls", "transfer-destination-request"],
    metadata: { switchboardAssistantId: input.assistantId, switchboardOrgId: input.orgId },
  };
}

/**
 * A function tool's argument schema: the subset of JSON Schema Vapi's `JsonSchema` accepts that Switchboard uses.
 * The same object is sent to Vapi and checks the arguments of every call (features/webhooks/tool-calls.ts).
 */
interface ToolParameter {
  type: "string" | "integer";
  description: string;
  /** A regular expression the whole string must match. */
  pattern?: string;
}
export interface ToolParameters {
  type: "object";
  properties: Record<string, ToolParameter>;
  required: string[];
}
interface FunctionToolDefinition {
  name: string;
  description: string;
  parameters: ToolParameters;
}

const DATE_PATTERN = "^\\d{4}-\\d{2}-\\d{2}$";
const START_PATTERN = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2})?$";
const PHONE_PATTERN = "^\\+?[0-9 ().-]{7,30}$";

/** The function tools every receptionist is given: the only tool names a tool call may dispatch to. */
export function functionToolDefinitions(business: BusinessData): FunctionToolDefinition[] {
  const minutes = business.appointment_minutes ?? 60;
  return [
    {
      name: TOOL_CHECK_AVAILABILITY,
      description: "Find open appointment times in the business's calendar. Call it before offering or booking a time.",
      parameters: {
        type: "object",
        properties: {
          date: { type: "string", description: "First day to look at, YYYY-MM-DD in the business's time zone", pattern: DATE_PATTERN },
          end_date: { type: "string", description: "Last day to look at (optional), YYYY-MM-DD", pattern: DATE_PATTERN },
          duration_minutes: { type: "integer", description: `Length of the appointment; default ${minutes}` },
        },
        required: ["date"],
      },
    },
    {
      name: TOOL_BOOK_APPOINTMENT,
      description:
        "Book an appointment at a time check_availability offered, after the caller confirmed it and gave their name and phone number.",
      parameters: {
        type: "object",
        properties: {
          start: { type: "string", description: "Start, YYYY-MM-DDTHH:MM in the business's time zone", pattern: START_PATTERN },
          duration_minutes: { type: "integer", description: `Length; default ${minutes}` },
          caller_name: { type: "string", description: "The caller's full name" },
          caller_phone: { type: "string", description: "The caller's phone number, digits such as +15125550123", pattern: PHONE_PATTERN },
          reason: { type: "string", description: "What the appointment is for" },
        },
        required: ["start", "caller_name", "caller_phone"],
      },
    },
  ];
}

/** The calendar tools (answered by /webhooks/vapi) and, with an emergency contact, the transfer. */
function assistantTools(
  server: VapiServer,
  business: BusinessData,
  contact: EmergencyContact | null,
): (VapiFunctionTool | VapiTransferCallTool)[] {
  const tools: (VapiFunctionTool | VapiTransferCallTool)[] = functionToolDefinitions(business).map((definition) => ({
    type: "function",
    function: { name: definition.name, description: definition.description, parameters: { ...definition.parameters } },
    server,
  }));
  if (contact) {
    tools.push({
      type: "transferCall",
      destinations: [
        {
          type: "number",
          number: contact.phone,
          message: "I'm connecting you with someone who can help right away. Please stay on the line.",
          description: transferDescription(business, contact),
        },
      ],
    });
  }
  return tools;
}

/** When the model should transfer: the business's named emergencies, or a caller who asks for a person. */
function transferDescription(business: BusinessData, contact: EmergencyContact): string {
  const emergencies = business.emergencies?.length ? `emergencies such as ${business.emergencies.join(", ")}` : "urgent emergencies";
  return `Transfer to ${contact.name} for ${emergencies}, or when the caller insists on speaking with a person.`.slice(0, 1000);
}

function systemPrompt(business: BusinessData, languages: Language[], contact: EmergencyContact | null = null): string {
  const lines = [
    `You are the friendly, professional phone receptionist of ${business.business_name}${business.industry ? `, a ${business.industry} business` : ""}.`,
  ];
  if (business.description) lines.push(`About the business: ${business.description}`);
  if (business.services?.length) lines.push(`Services offered: ${business.services.join("; ")}.`);
  if (business.address) lines.push(`Address: ${business.address}.`);
  if (business.website) lines.push(`Website: ${business.website}.`);
  if (business.hours) lines.push(`Opening hours (${business.timezone ?? "local time"}): ${describeHours(business.hours)}.`);
  if (languages.length > 1) {
    lines.push(`Speak ${languages.map((l) => LANGUAGE_NAMES[l]).join(", ")}. Answer in the language the caller uses.`);
  } else {
    lines.push(`Speak ${LANGUAGE_NAMES[languages[0] ?? "en"]}.`);
  }
  lines.push(
    "Keep answers short and natural: this is a phone call. Ask one question at a time.",
    "Only state facts given here. If you do not know something, say so and offer to take a message with the caller's name and number.",
    "Never invent prices, availability or appointments.",
    `To book, first call ${TOOL_CHECK_AVAILABILITY}, offer the times it returns, confirm the caller's choice, name and phone number, then call ${TOOL_BOOK_APPOINTMENT}. Read its answer back to the caller.`,
  );
  if (contact) {
    const emergencies = business.emergencies?.length ? ` (${business.emergencies.join(", ")})` : "";
    lines.push(`If the caller has an emergency${emergencies} or insists on a person, transfer the call to ${contact.name} at once.`);
  }
  return lines.join("\n");
}

function describeHours(hours: NonNullable<BusinessData["hours"]>): string {
  const days = Object.keys(DAY_NAMES) as (keyof typeof DAY_NAMES)[];
  return days
    .map((day) => {
      const ranges = hours[day];
      const text = ranges?.length ? ranges.map((r) => `${r.open}–${r.close}`).join(", ") : "closed";
      return `${DAY_NAMES[day]} ${text}`;
    })
    .join("; ");
}
