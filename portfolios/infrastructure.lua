-- infrastructure.lua: releases that change servers, networks, storage and
-- the data centre. One portfolio line, then one block per model.
-- luacheck: read globals portfolio model

portfolio "infrastructure" {
    description = "Servers, network, storage and data-centre facilities",
}

model "server-patching" {
    description = "Monthly operating-system patches on a group of servers",
    type = "minor",
    workflow = "minor",
    executor_group = "infra-ops",
    calendar = "weekend-window",
    impact = "medium",
    urgency = "low",
    category = "patch",
    sla_hours = 72,
    email = {
        creation = {
            en = "Release {{number}} registered: {{title}}. Patch window: {{planned_start}}.",
            pt_BR = "Liberação {{number}} registrada: {{title}}. Janela de atualização: {{planned_start}}.",
            es = "Liberación {{number}} registrada: {{title}}. Ventana de parches: {{planned_start}}.",
        },
        actions = {
            en = "Release {{number}} is now {{state}}.",
            pt_BR = "A liberação {{number}} agora está em {{state}}.",
            es = "La liberación {{number}} ahora está en {{state}}.",
        },
        closure = {
            en = "Release {{number}} closed: {{closure_text}}",
            pt_BR = "Liberação {{number}} encerrada: {{closure_text}}",
            es = "Liberación {{number}} cerrada: {{closure_text}}",
        },
    },
    deployment = {
        "Snapshot the servers",
        { title = "Apply the patches", group = "infra-ops", estimate_hours = 2 },
        { title = "Reboot and check services", group = "infra-ops", estimate_hours = 1 },
    },
    notes = { "Check the vendor advisories before the window." },
}

model "hardware-refresh" {
    description = "Replace end-of-life hardware with new servers or storage",
    type = "major",
    workflow = "major",
    executor_group = "infra-ops",
    calendar = "business-hours",
    impact = "high",
    urgency = "medium",
    risk = "medium",
    category = "hardware",
    sla_hours = 720,
    email = {
        creation = {
            en = "Hardware refresh {{number}} registered: {{title}}.",
            pt_BR = "Renovação de hardware {{number}} registrada: {{title}}.",
            es = "Renovación de hardware {{number}} registrada: {{title}}.",
        },
        closure = {
            en = "Hardware refresh {{number}} done.",
            pt_BR = "Renovação de hardware {{number}} concluída.",
            es = "Renovación de hardware {{number}} terminada.",
        },
    },
    planning = {
        { title = "Capacity and sizing study", group = "infra-architecture", estimate_hours = 16 },
        { title = "Order the hardware", group = "procurement", estimate_hours = 4 },
        "Plan the migration and the rollback",
    },
    deployment = {
        { title = "Rack and cable", group = "datacentre", estimate_hours = 8 },
        { title = "Migrate the workloads", group = "infra-ops", estimate_hours = 24 },
        "Decommission the old equipment",
    },
}

model "network-change" {
    description = "Firewall rules, routing and switch configuration",
    type = "significant",
    workflow = "standard",
    executor_group = "network",
    calendar = "night-window",
    impact = "high",
    urgency = "medium",
    risk = "high",
    category = "network",
    sla_hours = 48,
    deployment = {
        "Back up the running configuration",
        { title = "Apply the change", group = "network", estimate_hours = 1 },
        "Verify connectivity from the monitoring hosts",
    },
}

model "emergency-fix" {
    description = "A fix that cannot wait for the next window (outage, security)",
    type = "emergency",
    workflow = "emergency",
    executor_group = "infra-ops",
    impact = "high",
    urgency = "high",
    category = "incident",
    sla_hours = 4,
    notes = { "Link the incident or problem that calls for it." },
}

model "storage-expansion" {
    description = "Add capacity to a storage array (planned, not yet offered)",
    type = "minor",
    workflow = "minor",
    executor_group = "storage",
    impact = "low",
    urgency = "low",
    category = "storage",
    status = "new",
}
