"""Settings: network, manual peers, SOCKS5/Tor proxy, units, gap limit, fee source.

Stored in the data directory's settings.json (core.settings validates it). Units and fee source
apply at once; the rest at the next start, and the page says which.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.bridge import CoreBridge
from app.context import RESTART_FIELDS, AppContext
from app.format import NETWORK_TEXT
from app.widgets import Card, Page, hbox, muted
from core.chain.params import params_for
from core.settings import (
    GAP_LIMIT_RANGE,
    NETWORKS,
    FeeSource,
    Settings,
    SettingsError,
    Unit,
    parse_peer,
    parse_proxy,
)

FIELD_TEXT = {"network": "network", "manual_peers": "manual peers", "proxy": "proxy", "gap_limit": "gap limit"}
UNIT_TEXT = {Unit.BTC: "BTC (0.00100000)", Unit.SAT: "satoshis (100 000)"}
FEE_TEXT = {
    FeeSource.NODE: "Estimate from this node's mempool and recent blocks",
    FeeSource.MANUAL: "I enter the fee rate myself",
}
DEFAULT_PROXY = "socks5://127.0.0.1:9050"
LABEL_WIDTH = 190  # the same label column in every card
FIELD_WIDTH = 300


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setHorizontalSpacing(18)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return form


def _row(form: QFormLayout, text: str, field: QWidget | QLayout) -> QLabel:
    label = QLabel(text)
    label.setFixedWidth(LABEL_WIDTH)
    form.addRow(label, field)
    return label


class SettingsPage(Page):
    """A form over `ctx.settings`; Save validates and stores it."""

    def __init__(self, ctx: AppContext, bridge: CoreBridge) -> None:
        super().__init__("Settings", f"Stored in {ctx.paths.settings}")
        self.setObjectName("page_settings")
        self.ctx = ctx
        self._peers: dict[str, tuple[str, ...]] = {}
        self._peers_network = ctx.network

        net_card = Card("Network", "network_card")
        form = _form()
        self.network = QComboBox()
        self.network.setObjectName("setting_network")
        for n in NETWORKS:
            self.network.addItem(NETWORK_TEXT[n], n)
        self.network.currentIndexChanged.connect(self._network_changed)
        self.network.setMinimumWidth(FIELD_WIDTH)
        _row(form, "Network", self.network)
        self.peers_edit = QPlainTextEdit()
        self.peers_edit.setObjectName("setting_peers")
        self.peers_edit.setFixedSize(FIELD_WIDTH * 2, 78)
        self.peers_edit.setPlaceholderText("none")
        self.peers_label = _row(form, "Manual peers", self.peers_edit)
        peers_note = muted(QLabel("One host:port per line. If any are listed, the node connects only to them (Core's -connect)."))
        form.addRow("", peers_note)
        self.use_proxy = QCheckBox("Connect through a SOCKS5 proxy (Tor)")
        self.use_proxy.setObjectName("setting_use_proxy")
        self.proxy = QLineEdit()
        self.proxy.setObjectName("setting_proxy")
        self.proxy.setPlaceholderText(DEFAULT_PROXY)
        self.proxy.setFixedWidth(FIELD_WIDTH)
        self.use_proxy.toggled.connect(self.proxy.setEnabled)
        _row(form, "Proxy", hbox(self.use_proxy, self.proxy, None))
        net_card.content.addLayout(form)
        self.body.addWidget(net_card)

        wallet_card = Card("Wallet and display", "display_card")
        form2 = _form()
        self.unit = QComboBox()
        self.unit.setObjectName("setting_unit")
        for u in Unit:
            self.unit.addItem(UNIT_TEXT[u], u)
        self.unit.setMinimumWidth(FIELD_WIDTH)
        _row(form2, "Amounts in", self.unit)
        self.gap_limit = QSpinBox()
        self.gap_limit.setObjectName("setting_gap_limit")
        self.gap_limit.setRange(*GAP_LIMIT_RANGE)
        self.gap_limit.setFixedWidth(100)
        gap_note = muted(QLabel("unused addresses watched ahead of the last used one (for new wallets)"))
        _row(form2, "Address gap limit", hbox(self.gap_limit, gap_note, None))
        self.fee_source = QComboBox()
        self.fee_source.setObjectName("setting_fee_source")
        for f in FeeSource:
            self.fee_source.addItem(FEE_TEXT[f], f)
        self.fee_source.setMinimumWidth(FIELD_WIDTH)
        _row(form2, "Fee rates", self.fee_source)
        wallet_card.content.addLayout(form2)
        self.body.addWidget(wallet_card)

        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("settings_save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setObjectName("settings_revert")
        self.revert_button.clicked.connect(lambda: self.load(self.ctx.settings))
        self.status = QLabel(f"Changes to the {', '.join(FIELD_TEXT[f] for f in RESTART_FIELDS)} take effect after a restart.")
        self.status.setObjectName("settings_status")
        self.status.setWordWrap(True)
        muted(self.status)
        actions = hbox(self.revert_button, self.save_button)
        actions.insertWidget(0, self.status, 1)
        self.body.addLayout(actions)
        self.body.addStretch(1)

        bridge.settings_changed.connect(self._on_settings)
        self.load(ctx.settings)

    # Bound methods, not lambdas: Qt drops a bound method's connection when the page is deleted.
    def _on_settings(self, settings: Settings, _restart: object) -> None:
        self.load(settings)

    # --- form <-> settings -------------------------------------------------------------------------

    def load(self, s: Settings) -> None:
        """Show `s` in the form."""
        self._peers = dict(s.manual_peers)
        self._peers_network = s.network
        self.network.blockSignals(True)
        self.network.setCurrentIndex(NETWORKS.index(s.network))
        self.network.blockSignals(False)
        self._show_peers(s.network)
        self.use_proxy.setChecked(s.proxy is not None)
        self.proxy.setEnabled(s.proxy is not None)
        self.proxy.setText(s.proxy or DEFAULT_PROXY)
        self.unit.setCurrentIndex(list(Unit).index(s.unit))
        self.gap_limit.setValue(s.gap_limit)
        self.fee_source.setCurrentIndex(list(FeeSource).index(s.fee_source))

    def _show_peers(self, network: str) -> None:
        self._peers_network = network
        self.peers_label.setText(f"Manual peers ({NETWORK_TEXT[network]})")
        self.peers_edit.setPlainText("\n".join(self._peers.get(network, ())))

    def _keep_peers_text(self) -> None:
        lines = tuple(line.strip() for line in self.peers_edit.toPlainText().splitlines() if line.strip())
        self._peers[self._peers_network] = lines

    def _network_changed(self, _index: int) -> None:
        self._keep_peers_text()
        self._show_peers(self.network.currentData())

    def form_settings(self) -> Settings:
        """The form's values as Settings; SettingsError names what is wrong."""
        self._keep_peers_text()
        for net, lines in self._peers.items():
            for line in lines:
                parse_peer(line, params_for(net).default_port)
        proxy = parse_proxy(self.proxy.text() or DEFAULT_PROXY) if self.use_proxy.isChecked() else None
        return self.ctx.settings.replace(
            network=self.network.currentData(),
            manual_peers={k: v for k, v in self._peers.items() if v},
            proxy=proxy,
            unit=self.unit.currentData(),
            gap_limit=self.gap_limit.value(),
            fee_source=self.fee_source.currentData(),
        )

    def save(self) -> None:
        try:
            new = self.form_settings()
        except SettingsError as e:
            self.status.setText(f"Not saved: {e}")
            return
        self.save_button.setEnabled(False)
        self.ctx.spawn(self._save(new), "save settings")

    async def _save(self, new: Settings) -> None:
        try:
            restart = await self.ctx.update_settings(new)
        finally:
            self.save_button.setEnabled(True)
        if restart:
            self.status.setText(f"Saved. Restart Peerwallet to apply the new {', '.join(FIELD_TEXT[f] for f in restart)}.")
        else:
            self.status.setText("Saved.")
