-- applications.lua: releases of business applications and the services
-- built on them. One portfolio line, then one block per model.
-- luacheck: read globals portfolio model

portfolio "applications" {
    description = "Business applications, their versions and configuration",
}

model "application-release" {
    description = "A new version of an in-house application",
    type = "major",
    workflow = "major",
    executor_group = "app-delivery",
    calendar = "release-train",
    impact = "medium",
    urgency = "medium",
    risk = "medium",
    category = "software",
    sla_hours = 240,
    email = {
        creation = {
            en = "Release {{number}} of {{title}} registered by {{requester}}.",
            pt_BR = "Liberação {{number}} de {{title}} registrada por {{requester}}.",
            es = "Liberación {{number}} de {{title}} registrada por {{requester}}.",
        },
        actions = {
            en = "Release {{number}}: {{action}} by {{actor}}.",
            pt_BR = "Liberação {{number}}: {{action}} por {{actor}}.",
            es = "Liberación {{number}}: {{action}} por {{actor}}.",
        },
        closure = {
            en = "Version {{version}} is live: {{closure_text}}",
            pt_BR = "A versão {{version}} está no ar: {{closure_text}}",
            es = "La versión {{version}} está en producción: {{closure_text}}",
        },
    },
    planning = {
        { title = "Freeze the scope", group = "app-delivery", estimate_hours = 2 },
        { title = "Build the release candidate", group = "app-delivery", estimate_hours = 8 },
        { title = "Acceptance test", group = "qa", estimate_hours = 16 },
    },
    deployment = {
        { title = "Deploy to production", group = "app-delivery", estimate_hours = 2 },
        { title = "Smoke test", group = "qa", estimate_hours = 1 },
    },
    notes = { "Attach the release notes before homologation." },
}

model "configuration-change" {
    description = "Change a parameter or a feature flag of an application",
    type = "minor",
    workflow = "minor",
    executor_group = "app-support",
    impact = "low",
    urgency = "medium",
    category = "configuration",
    sla_hours = 24,
}

model "standard-update" {
    description = "Vendor update of a packaged application, through the standard flow",
    type = "significant",
    workflow = "standard",
    executor_group = "app-support",
    impact = "medium",
    urgency = "medium",
    category = "software",
    sla_hours = 120,
    deployment = { "Install the update", "Check the licence count" },
}

model "hotfix" {
    description = "Urgent correction of a production defect",
    type = "emergency",
    workflow = "emergency",
    executor_group = "app-delivery",
    impact = "high",
    urgency = "high",
    category = "defect",
    sla_hours = 8,
}

model "legacy-migration" {
    description = "Moves off the old ERP (no longer offered)",
    type = "major",
    workflow = "major",
    executor_group = "app-delivery",
    status = "retired",
}
