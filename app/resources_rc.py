# Resource object code (Python 3)
# Created by: object code
# Created by: The Resource Compiler for Qt version 6.11.3
# WARNING! All changes made in this file will be lost!

from PySide6 import QtCore

qt_resource_data = b"\
\x00\x00\x03\xbd\
<\
?xml version=\x221.\
0\x22 encoding=\x22UTF\
-8\x22?>\x0a<!-- Peerw\
allet's mark: a \
wallet on a Bitc\
oin-orange tile,\
 its clasp a pai\
r of linked peer\
s. -->\x0a<svg xmln\
s=\x22http://www.w3\
.org/2000/svg\x22 w\
idth=\x22512\x22 heigh\
t=\x22512\x22 viewBox=\
\x220 0 512 512\x22>\x0a \
 <defs>\x0a    <lin\
earGradient id=\x22\
tile\x22 x1=\x220\x22 y1=\
\x220\x22 x2=\x220\x22 y2=\x221\
\x22>\x0a      <stop o\
ffset=\x220\x22 stop-c\
olor=\x22#FBA640\x22/>\
\x0a      <stop off\
set=\x221\x22 stop-col\
or=\x22#E06A06\x22/>\x0a \
   </linearGradi\
ent>\x0a  </defs>\x0a \
 <rect x=\x2224\x22 y=\
\x2224\x22 width=\x22464\x22\
 height=\x22464\x22 rx\
=\x22108\x22 fill=\x22url\
(#tile)\x22/>\x0a  <re\
ct x=\x22138\x22 y=\x2211\
8\x22 width=\x22220\x22 h\
eight=\x2292\x22 rx=\x222\
2\x22 fill=\x22#FFE0B8\
\x22 transform=\x22rot\
ate(-9 248 164)\x22\
/>\x0a  <rect x=\x2296\
\x22 y=\x22166\x22 width=\
\x22320\x22 height=\x2223\
2\x22 rx=\x2240\x22 fill=\
\x22#FFFFFF\x22/>\x0a  <r\
ect x=\x22286\x22 y=\x222\
36\x22 width=\x22130\x22 \
height=\x2292\x22 rx=\x22\
30\x22 fill=\x22#E97A1\
2\x22/>\x0a  <line x1=\
\x22320\x22 y1=\x22282\x22 x\
2=\x22382\x22 y2=\x22282\x22\
 stroke=\x22#FFFFFF\
\x22 stroke-width=\x22\
12\x22 stroke-linec\
ap=\x22round\x22/>\x0a  <\
circle cx=\x22320\x22 \
cy=\x22282\x22 r=\x2217\x22 \
fill=\x22#FFFFFF\x22/>\
\x0a  <circle cx=\x223\
82\x22 cy=\x22282\x22 r=\x22\
17\x22 fill=\x22#FFFFF\
F\x22/>\x0a</svg>\x0a\
"

qt_resource_name = b"\
\x00\x05\
\x00o\xa6S\
\x00i\
\x00c\x00o\x00n\x00s\
\x00\x0e\
\x05T\xef\x07\
\x00p\
\x00e\x00e\x00r\x00w\x00a\x00l\x00l\x00e\x00t\x00.\x00s\x00v\x00g\
"

qt_resource_struct = b"\
\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01\
\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x02\
\x00\x00\x00\x10\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\
"

def qInitResources():
    QtCore.qRegisterResourceData(0x01, qt_resource_struct, qt_resource_name, qt_resource_data)

def qCleanupResources():
    QtCore.qUnregisterResourceData(0x01, qt_resource_struct, qt_resource_name, qt_resource_data)

qInitResources()
